"""The database: engine, tables, migrations, and the owners of transactions."""
