/*
** include/blaze.h: the public C API of Blaze.
**
** Blaze is one loadable module, blaze.so. Loading it (".load ./blaze" in the shell,
** sqlite3_load_extension() from C) registers the "blaze" VFS over the default VFS and
** adds the SQL surface (blaze_stats, blaze_* functions) to every connection opened
** afterwards. The functions below are exported from blaze.so and also available when
** Blaze is linked statically.
**
** Statically linked programs call blaze_init() once, before opening databases.
** A program that dlopen()s blaze.so may call blaze_vfs_register() right away when it
** links libsqlite3 dynamically (Blaze then finds SQLite among the process's symbols);
** otherwise it must load blaze.so once through sqlite3_load_extension() first, and
** until then blaze_vfs_register() returns SQLITE_MISUSE.
**
** Limitation: a base VFS that calls sqlite3_database_file_object() on its journal or
** -wal files and casts the result to its own file type (cksumvfs does) cannot sit
** below Blaze: the main-database object it gets back is Blaze's.
*/
#ifndef BLAZE_H
#define BLAZE_H

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* No C++ exception ever leaves a Blaze function. */
#ifdef __cplusplus
#define BLAZE_NOEXCEPT noexcept
#else
#define BLAZE_NOEXCEPT
#endif

#if defined(__GNUC__)
#define BLAZE_API __attribute__((visibility("default")))
#else
#define BLAZE_API
#endif

/*
** Register a Blaze VFS named zName stacked over the registered VFS zBase (NULL: the
** default VFS), and make it the default if makeDefault is non-zero.
**
** Returns SQLITE_OK, or:
**  1. SQLITE_ERROR if zBase is not registered, or zName is already taken by a VFS that
**     is not a Blaze VFS over the same base (registering the same pair again is OK, and
**     honours makeDefault);
**  2. SQLITE_MISUSE if zName is NULL or empty, or (blaze.so only) SQLite cannot be
**     found: the module was never loaded by sqlite3_load_extension() and the process
**     does not export SQLite's symbols;
**  3. SQLITE_NOMEM.
** On failure blaze_last_error() says why. A registered VFS is never unregistered: it
** lives as long as the process.
*/
BLAZE_API int blaze_vfs_register(const char *zName, const char *zBase, int makeDefault) BLAZE_NOEXCEPT;

/*
** The reason for the last failure of a Blaze call on this thread: a rejected URI
** parameter when opening a database, a failed registration. Empty if there was none;
** a later success does not clear it. The pointer is valid until the next failure on
** this thread.
*/
BLAZE_API const char *blaze_last_error(void) BLAZE_NOEXCEPT;

/*
** For programs that link Blaze statically: does what loading blaze.so does, for the
** whole process. Registers the "blaze" VFS over the default VFS (unless a Blaze VFS
** named "blaze" exists) and arranges for the SQL surface to be added to every
** connection opened afterwards. Safe to call more than once. In blaze.so, returns
** SQLITE_MISUSE until the module was loaded by sqlite3_load_extension().
*/
BLAZE_API int blaze_init(void) BLAZE_NOEXCEPT;

/*
** The module's entry point, called by sqlite3_load_extension(). Registers the "blaze"
** VFS (once), adds the SQL surface to db, and arranges for it to be added to every
** connection opened later. Returns SQLITE_OK_LOAD_PERMANENTLY on success.
**
** Never pass it to sqlite3_auto_extension(): SQLite treats any non-zero result of an
** auto-extension, SQLITE_OK_LOAD_PERMANENTLY included, as a failure of every open.
** Statically linked programs call blaze_init() instead.
*/
BLAZE_API int sqlite3_blaze_init(sqlite3 *db, char **pzErrMsg,
                                 const sqlite3_api_routines *pApi) BLAZE_NOEXCEPT;

#ifdef __cplusplus
}
#endif
#endif /* BLAZE_H */
