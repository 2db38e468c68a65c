/**
 * The PostgreSQL version Materialize claims to be, "9.5.0": src/sql/src/session/vars/definitions.rs
 * in MaterializeInc/materialize (SERVER_MAJOR_VERSION 9, SERVER_MINOR_VERSION 5,
 * SERVER_PATCH_VERSION 0; server_version is formatted "{major}.{minor}.{patch}", server_version_num
 * is major * 10000 + minor * 100 + patch). Clients choose their catalog queries by it: psql told
 * PGlite's 18.x asks pg_database for PostgreSQL 15+ columns, as it never would of Materialize.
 */
export const MATERIALIZE_SERVER_VERSION = '9.5.0';
export const MATERIALIZE_SERVER_VERSION_NUM = '90500';
