/** Failures the domain names; one place (http/problem.ts) maps them to HTTP. */
export type DomainErrorKind =
  | "unauthorized"
  | "forbidden"
  | "unsupported_media_type"
  | "payload_too_large"
  | "bad_request"
  | "not_found"
  | "conflict"
  | "unprocessable"
  | "unavailable";

export type FieldError = { path: string; message: string };

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new DomainError("bad_request", detail, errors);
export const notFound = (what: string, id: string) =>
  new DomainError("not_found", `${what} ${JSON.stringify(id)} does not exist`);
export const conflict = (detail: string) => new DomainError("conflict", detail);
export const unprocessable = (path: string, what: string, id: string) =>
  new DomainError("unprocessable", `${what} ${JSON.stringify(id)} does not exist`, [
    { path, message: `${what} does not exist` },
  ]);
export const unauthorized = (detail: string) => new DomainError("unauthorized", detail);
export const forbidden = (detail: string) => new DomainError("forbidden", detail);
export const unavailable = (detail: string) => new DomainError("unavailable", detail);
