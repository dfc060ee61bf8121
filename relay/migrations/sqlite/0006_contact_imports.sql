-- Contact imports. The uploaded file is kept until its rows are saved, and saving the rows and
-- marking the import finished is one transaction: an import the relay accepted (202) finishes
-- even if the relay stops half-way, because unfinished imports are picked up again at start.
CREATE TABLE contact_imports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    owner        BIGINT NOT NULL,                 -- the user who uploaded it (only they follow it)
    mapping      TEXT NOT NULL,                   -- ImportMapping as JSON
    body         BLOB,                            -- the CSV; cleared once the import has finished
    status       TEXT NOT NULL,                   -- ImportStatus as JSON
    rejected_csv BLOB,
    finished     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL
);
CREATE INDEX contact_imports_unfinished ON contact_imports (finished, id);
