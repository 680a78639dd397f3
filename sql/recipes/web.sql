-- The web recipe: from WARC files to a deduplicated release of page texts.
--
-- Input: the WARC/WET files named by the variable `web_warc` (a path or glob, local or fsspec
-- URL; default 'crawl/*.warc.gz' relative to the working directory), and the table
-- `web_blocklist(domain)` of blocked domains (created empty if absent; a domain blocks its
-- subdomains too). Set them before running, e.g. `SET VARIABLE web_warc = 's3://b/*.warc.gz'`.
--
-- Each stage is a TEMP table named for its rows. Every record that leaves the pipeline is
-- logged in `web_removed` (id, step, reason), the unreadable ones with file and offset, so
-- nothing is dropped without a reason; quality rules that only flag go to `web_flags`.
-- Stages: 1. read and extract main content (read_warc_text), 2. keep target
-- languages (lang_id), 3. URL filter (blocklist), 4. quality (Gopher repetition removes; Gopher
-- quality, C4, FineWeb flag), 5. exact dedup (normalized URL, then normalized text),
-- 6. near dedup (MinHash LSH, Jaccard >= 0.8), 7. the release view `web_release`.
-- Materialize it: corpusql materialize "SELECT * FROM web_release" out/web --setup web.sql --order-by id

SET VARIABLE web_warc = coalesce(getvariable('web_warc'), 'crawl/*.warc.gz');

CREATE TABLE IF NOT EXISTS web_blocklist (domain VARCHAR);

-- 1. Read every response record and extract its main content in one step (read_warc_text: the
--    same rows as html_extract over read_warc; payloads never leave the extraction workers).
CREATE OR REPLACE TEMP TABLE web_pages AS
SELECT
    warc_record_id AS id,
    url,
    url_normalize(url) AS url_norm,
    warc_date,
    content_type,
    _file,
    _offset,
    {'text': text, 'reason': reason, 'title': title, 'lang': lang} AS extracted
FROM read_warc_text(getvariable('web_warc'));

CREATE OR REPLACE TEMP TABLE web_removed AS
SELECT _file || '@' || _offset AS id, 'read' AS step, reason
FROM read_warc_errors(getvariable('web_warc'));

INSERT INTO web_removed
SELECT id, 'extract', extracted.reason
FROM web_pages
WHERE extracted.text IS NULL;

CREATE OR REPLACE TEMP TABLE web_texts AS
SELECT id, url, url_norm, warc_date, _file, _offset,
       extracted.text AS text, extracted.title AS title, extracted.lang AS declared_lang,
       lang_id(extracted.text) AS detected
FROM web_pages
WHERE extracted.text IS NOT NULL;

-- 2. Language: keep the languages this release is for, by the detected language.
CREATE OR REPLACE TEMP TABLE web_languages AS
SELECT unnest(['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'ja', 'zh']) AS lang;

INSERT INTO web_removed
SELECT id, 'language', 'detected language ' || detected.lang || ' is not a target language'
FROM web_texts
WHERE detected.lang NOT IN (SELECT lang FROM web_languages);

-- 3. URL filter: blocked domains and their subdomains.
INSERT INTO web_removed
SELECT id, 'url_blocklist', 'domain ' || url_domain(url) || ' is on web_blocklist'
FROM web_texts
WHERE detected.lang IN (SELECT lang FROM web_languages) AND url_blocked(url, 'web_blocklist');

CREATE OR REPLACE TEMP TABLE web_kept AS
SELECT * FROM web_texts WHERE id NOT IN (SELECT id FROM web_removed);

-- 4. Quality: Gopher repetition removes; the web-text rules flag.
CREATE OR REPLACE TEMP TABLE web_quality AS
SELECT
    id,
    gopher_repetition_reasons(text) AS repetition_reasons,
    gopher_quality_reasons(text) AS gopher_reasons,
    c4_quality_reasons(text) AS c4_reasons,
    fineweb_quality_reasons(text) AS fineweb_reasons
FROM web_kept;

CREATE OR REPLACE TEMP TABLE web_flags AS
SELECT id, 'gopher_quality' AS filter, unnest(gopher_reasons) AS reason FROM web_quality
UNION ALL SELECT id, 'c4_quality', unnest(c4_reasons) FROM web_quality
UNION ALL SELECT id, 'fineweb_quality', unnest(fineweb_reasons) FROM web_quality;

INSERT INTO web_removed
SELECT id, 'gopher_repetition', repetition_reasons[1]
FROM web_quality
WHERE len(repetition_reasons) > 0;

-- 5. Exact duplicates: one page per normalized URL (the earliest capture), then one per
--    normalized text.
INSERT INTO web_removed
SELECT id, 'url_dedup', 'same normalized URL as ' || first(id ORDER BY warc_date, id) OVER (PARTITION BY url_norm)
FROM web_kept
WHERE id NOT IN (SELECT id FROM web_removed)
QUALIFY row_number() OVER (PARTITION BY url_norm ORDER BY warc_date, id) > 1;

CREATE OR REPLACE TEMP TABLE web_unique_urls AS
SELECT * FROM web_kept WHERE id NOT IN (SELECT id FROM web_removed);

CREATE OR REPLACE TEMP TABLE web_exact_groups AS
SELECT * FROM exact_dup_groups('web_unique_urls', 'text', 'id');

INSERT INTO web_removed
SELECT id, 'exact_dedup', 'exact duplicate of ' || first(id ORDER BY is_kept DESC, id) OVER (PARTITION BY group_id)
FROM web_exact_groups
QUALIFY NOT is_kept;

CREATE OR REPLACE TEMP TABLE web_exact_deduped AS
SELECT d.* FROM web_unique_urls AS d JOIN web_exact_groups AS g USING (id) WHERE g.is_kept;

-- 6. Near duplicates: MinHash LSH candidates verified by exact Jaccard >= 0.8.
CREATE OR REPLACE TEMP TABLE web_near_clusters AS
SELECT * FROM near_dup_clusters('web_exact_deduped', 'text', 'id', threshold := 0.8);

INSERT INTO web_removed
SELECT id, 'near_dedup', 'near duplicate (Jaccard >= 0.8) of ' || first(id ORDER BY is_kept DESC, id) OVER (PARTITION BY cluster_id)
FROM web_near_clusters
QUALIFY NOT is_kept;

-- 7. The release: one row per kept page, with its lineage back to the WARC record.
CREATE OR REPLACE TEMP VIEW web_release AS
SELECT id, url, url_norm, url_registered_domain(url) AS domain, title, text,
       detected.lang AS lang, declared_lang, warc_date, _file, _offset
FROM web_exact_deduped
WHERE id NOT IN (SELECT id FROM web_removed);

SELECT step, count(*) AS records FROM web_removed GROUP BY step ORDER BY step;
SELECT count(*) AS released FROM web_release;
