// The PostgreSQL driver of storage::Db: libpq connections in a bounded pool, each confined
// to this role's schema and caching its prepared statements.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/db.h"

namespace hutong::storage {

namespace pg_internal {
struct Conn;  // one PGconn plus its statement cache (pg_db.cpp)
}

// What a PostgreSQL URL means to us, split from what libpq is given.
struct PgTarget {
  std::string conninfo;     // the URL without our own `schema` parameter, for libpq
  std::string schema;       // validated: [a-z_][a-z0-9_]*, at most 63 characters
  std::string description;  // for logs: no password, no query parameters except schema
  // Passwords as written in the URL: libpq echoes parts of the URL in its messages, and
  // these are scrubbed from them before they reach Error::internal.
  std::vector<std::string> secrets;

  // msg with every secret replaced by "***".
  std::string Redact(std::string msg) const;
};

// Parses "postgres[ql]://user:pw@host:port/db?schema=NAME&...". The schema defaults to
// `default_schema`. Errors: kValidationFailed for a malformed URL or schema name.
Result<PgTarget> ParsePgTarget(const std::string& url, const std::string& default_schema);

// Threading: every public call may come from any thread (blocking pool only). At most
// pool_size connections exist; a transaction holds one from BEGIN to COMMIT/ROLLBACK and
// callers beyond that wait (up to 30 s, then kUnavailable). Connections are opened
// lazily, and a broken one is dropped and reopened on its next use.
//
// Unlike SQLite, a failed statement aborts the whole PostgreSQL transaction: after an
// error inside WithWrite, return the error rather than carrying on in the same transaction
// (use INSERT ... ON CONFLICT instead of catching a conflict). A transaction whose fn
// swallowed such an error and returned ok reports kInternal at COMMIT.
//
// Queued statements (Tx::Queue) go in one pipeline with the next statement or the COMMIT;
// an expected row count is checked by the server (the statement wrapped in a CTE whose
// check divides by zero), so a mismatch aborts the transaction before its COMMIT runs.
//
// A read transaction whose first statement is its last (Tx::ExecLast) sends neither BEGIN
// nor COMMIT: the statement runs alone in its implicit transaction, in one round trip.
// Sessions default to read-only transactions, and write transactions begin READ WRITE.
//
// The Db must outlive every transaction running on it.
class PgDb final : public Db {
 public:
  // Parses the URL and opens one connection right away, creating the schema if missing.
  // Errors: kValidationFailed (bad URL), kUnavailable (server unreachable, auth failed).
  static Result<std::unique_ptr<PgDb>> Open(const std::string& url, const DbOptions& options);
  ~PgDb() override;

  PgDb(const PgDb&) = delete;
  PgDb& operator=(const PgDb&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string Describe() const override { return target_.description; }
  Status WithRead(const std::function<Status(Tx&)>& fn) override;
  Status WithWrite(const std::function<Status(Tx&)>& fn) override;
  Status Ping() override;

 private:
  PgDb(PgTarget target, size_t pool_size);

  Status RunTransaction(bool write, const std::function<Status(Tx&)>& fn);
  // Blocks until a slot is free and makes sure it is connected. Returns it with CheckIn.
  Result<pg_internal::Conn*> CheckOut();
  void CheckIn(pg_internal::Conn* conn);
  // (Re)opens conn's connection and prepares the session (encoding, time zone, schema).
  Status Connect(pg_internal::Conn& conn);

  const PgTarget target_;

  std::vector<std::unique_ptr<pg_internal::Conn>> slots_;  // owned; fixed after construction
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  // Free slots, connected ones at the back so they are reused first.
  std::vector<pg_internal::Conn*> free_;  // GUARDED_BY(pool_mu_)
};

}  // namespace hutong::storage
