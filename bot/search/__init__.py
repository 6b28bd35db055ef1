"""Full-text search of the archive: index, query language, rights, snippets, export.

`SearchService` (bot/search/service.py) is what handlers use; `SearchIndex` (indexer.py) is the
Archive's indexer hook; `search_migrations` (schema.py) holds the index's tables.
"""
