-- One incident-like row per transaction, into a scratch table shaped like incident_view
-- (same columns, primary key and two indexes). Run by bench/limits.py with pgbench -M prepared.
INSERT INTO bench_incident (id, status, source, description, created_at, updated_at, version)
VALUES (gen_random_uuid(), 'new', 'monitoring',
        'disk usage above 90% on db-7 (pgbench)', now(), now(), 1);
