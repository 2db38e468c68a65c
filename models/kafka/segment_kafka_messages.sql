---
kind: view
schema: analytics
cluster: analytics_cluster
enabled: {{vars.kafka_enabled}}
description: Every Kafka message, its text, and why it cannot become an event (reason is NULL when it can)
---
-- Materialize has no "try" cast to jsonb, and one message that fails CAST(… AS jsonb) makes every
-- query over a view that casts it fail. So each message is checked first, with expressions that
-- cannot fail (regular expressions and CASE), the same SQL on Materialize and the local server:
-- 1. UTF-8: the hex form of the bytes is a sequence of well-formed UTF-8 characters (no NUL);
-- 2. JSON: strings become ~ and scalars # (numbers within numeric's 38 digits), then the innermost
--    objects and arrays become #, 12 times; a JSON object nested at most 12 levels ends as
--    one #. Strings may not hold \u0000 or lone surrogates, which jsonb cannot store.
-- Messages that fail land in segment_kafka_dead_letter with the raw bytes and the reason.
WITH checked_utf8 AS (
  SELECT data, encode(data, 'hex') ~ '^(?:0[1-9a-f]|[1-7][0-9a-f]|c[2-9a-f][89ab][0-9a-f]|d[0-9a-f][89ab][0-9a-f]|e0[ab][0-9a-f][89ab][0-9a-f]|e[1-9a-cef][89ab][0-9a-f][89ab][0-9a-f]|ed[89][0-9a-f][89ab][0-9a-f]|f0[9ab][0-9a-f][89ab][0-9a-f][89ab][0-9a-f]|f[1-3][89ab][0-9a-f][89ab][0-9a-f][89ab][0-9a-f]|f48[0-9a-f][89ab][0-9a-f][89ab][0-9a-f])*$' AS utf8_ok
  FROM {{ref.segment_kafka_source}}
), texts AS (
  SELECT data, utf8_ok, CASE WHEN utf8_ok THEN convert_from(data, 'utf8') END AS message
  FROM checked_utf8
), tokens AS (
  SELECT data, utf8_ok, message,
         -- ~ or # outside strings would pass for a placeholder: such a message is not JSON anyway.
         regexp_replace(message, '"(?:[^"\\\x01-\x1f]|\\["\\/bfnrt]|\\u(?:[1-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|0(?:[1-9a-fA-F][0-9a-fA-F]{2}|0(?:[1-9a-fA-F][0-9a-fA-F]|0[1-9a-fA-F])))|\\u[dD][0-7][0-9a-fA-F]{2}|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})*"', '', 'g') ~ '[~#]' AS stray_placeholder,
         regexp_replace(regexp_replace(message, '"(?:[^"\\\x01-\x1f]|\\["\\/bfnrt]|\\u(?:[1-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|0(?:[1-9a-fA-F][0-9a-fA-F]{2}|0(?:[1-9a-fA-F][0-9a-fA-F]|0[1-9a-fA-F])))|\\u[dD][0-7][0-9a-fA-F]{2}|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})*"', '~', 'g'), '-?(?:0|[1-9]\d{0,37})(?:\.\d{1,37})?(?:[eE][+-]?\d{1,2})?|true|false|null', '#', 'g') AS shape
  FROM texts
), reduced AS (
  SELECT data, utf8_ok, message, stray_placeholder,
         regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(shape, '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g'), '\{\s*(?:~\s*:\s*[~#]\s*(?:,\s*~\s*:\s*[~#]\s*)*)?\}|\[\s*(?:[~#]\s*(?:,\s*[~#]\s*)*)?\]', '#', 'g') AS shape
  FROM tokens
)
SELECT
  data,
  message,
  CASE
    WHEN NOT utf8_ok THEN 'not valid UTF-8 (or holds a NUL byte)'
    WHEN message !~ '^\s*\{' THEN 'not a JSON object'
    WHEN stray_placeholder OR shape !~ '^\s*#\s*$' THEN 'not valid JSON, or nested more than 12 levels deep'
  END AS reason
FROM reduced
