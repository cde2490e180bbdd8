-- The single revision counter row every write transaction increments.
INSERT INTO "canopy_revision" ("id", "value") VALUES (1, 0) ON CONFLICT DO NOTHING;
