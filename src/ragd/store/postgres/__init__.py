"""The PostgreSQL backend (``postgresql://…``): psycopg 3 with its connection pool, pgvector for vectors, the
originals in the database. Needs ``pip install 'ragd[postgres]'``."""
