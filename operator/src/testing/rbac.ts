import type { AuditEntry } from "./fake-api/server.ts";
import { find, type K8sObject, renderChart } from "./render.ts";

export type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

/** The rules charts/canopy-operator grants: the (Cluster)Role for managed objects and the leader-election Role. */
export async function operatorRules(): Promise<{ managed: Rule[]; leaderElection: Rule[] }> {
  const objects = await renderChart("canopy-operator", {
    release: "canopy-operator",
    namespace: "canopy-system",
  });
  const roles = objects.filter((o: K8sObject) => o.kind === "Role" || o.kind === "ClusterRole");
  return {
    managed: find(objects, "ClusterRole").rules,
    leaderElection: roles.find((r) => r.metadata.name.endsWith("-leader-election"))?.rules ?? [],
  };
}

const grants = (rules: Rule[]) =>
  new Set(
    rules.flatMap((r) =>
      r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res} ${v}`))),
    ),
  );

/** Requests of `user` that the rules do not allow, and grants no request of `user` used. */
export function checkRbac(rules: Rule[], audit: AuditEntry[], user: string) {
  const granted = grants(rules);
  const used = new Set(audit.filter((e) => e.user === user).map((e) => `${e.group}/${e.resource} ${e.verb}`));
  return {
    denied: [...used].filter((u) => !granted.has(u)).sort(),
    unused: [...granted].filter((g) => !used.has(g)).sort(),
  };
}
