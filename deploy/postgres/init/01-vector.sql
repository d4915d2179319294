-- Run once by the postgres image when it creates the database (as the superuser POSTGRES_USER): ragd's first
-- migration needs the pgvector extension, and creating an extension takes a superuser (docs/scaling.md).
CREATE EXTENSION IF NOT EXISTS vector;
