/**
 * The database and user every local server presents (Materialize's defaults), in a module of their
 * own: commands that only connect to a server name them without loading the engine (PGlite).
 */
export const LOCAL_DATABASE = 'materialize';
export const LOCAL_USER = 'materialize';
