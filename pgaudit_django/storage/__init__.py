"""Storage for years of audit data: partitions, retention, append-only guards, least privilege.

One job per module:

* ``install``    renders and installs the SQL of migration 0003 (``sql/0003_*.sql``)
* ``testing``    the TRUNCATE allowance of Django test databases
* ``partitions`` lists partitions and creates them ahead of time
* ``retention``  plans and applies retention by partition (and by age for the event tables)
* ``export``     writes what retention removes to a gzip JSON-lines file first
* ``grants``     GRANT/REVOKE statements for a least-privilege application role
* ``integrity``  is everything that protects the trail in place (guards, event trigger, …)?
* ``verify``     completeness: does each tracked object's history chain up to its live row?
* ``routers``    a database router sending audit reads to a replica
* ``signals``    ``post_migrate``: partitions ahead (and the test allowance) after ``migrate``

See docs/operations.md.
"""
