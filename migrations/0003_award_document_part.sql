-- The costly middle of each award's JSON document (issuedOn, expires, evidence, narrative), written
-- by the database itself when the row is written: a STORED generated column, so no write path can
-- forget it. A listing or export then only splices it between the parts that can change without
-- the row (the badge's slug, BADGEKIT_PUBLIC_URL) and the revocation fields: MariaDB's CPU per
-- streamed award, which bounds a listing, falls by about half (bench/README.md).
-- CAST(datetime AS CHAR) stands for DATE_FORMAT, which a generated column may not call; for a
-- DATETIME it gives the same 'YYYY-MM-DD HH:MM:SS'.

ALTER TABLE awards ADD COLUMN document_part LONGTEXT GENERATED ALWAYS AS (CONCAT(
  '"issuedOn": ', COALESCE(CONCAT('"', REPLACE(CAST(issued_on AS CHAR), ' ', 'T'), 'Z"'), 'null'),
  ', "expires": ', COALESCE(CONCAT('"', REPLACE(CAST(expires AS CHAR), ' ', 'T'), 'Z"'), 'null'),
  ', "evidence": ', COALESCE(evidence, 'null'),
  ', "narrative": ', COALESCE(JSON_QUOTE(narrative), 'null'))) STORED
