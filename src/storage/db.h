// The storage interface every repository uses: named queries with $1..$n placeholders,
// run inside RAII transactions on a pooled connection. Two drivers implement it, SQLite
// (src/storage/sqlite) and PostgreSQL (src/storage/postgres); callers never know which.
//
// Threading: a Db is shared by all threads. Its calls block, so they run only on the
// blocking worker pool (http::Exec::kBlocking handlers, jobs), never on an I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"

namespace hutong::storage {

enum class Dialect { kSqlite, kPostgres };
enum class Access { kRead, kWrite };

// A statically defined query. `sql` is shared by both dialects unless `pg_sql` is given.
// Placeholders are $1, $2, ... in both. `name` must be unique: it keys the per-connection
// prepared-statement cache.
struct Query {
  const char* name;
  Access access;
  const char* sql;
  const char* pg_sql = nullptr;
};

// Stored values: NULL, integer (also booleans 0/1, money in fen, times in unix ms),
// floating point (coordinates) and text (UTF-8, also JSON documents).
using Value = std::variant<std::monostate, int64_t, double, std::string>;

inline Value Null() {
  return std::monostate{};
}
template <typename T>
Value Opt(const std::optional<T>& v) {
  if (!v) return std::monostate{};
  if constexpr (std::is_integral_v<T>)
    return static_cast<int64_t>(*v);
  else
    return Value(*v);
}

class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(values_.at(i)); }
  // Typed reads; integers and doubles convert into each other, text into numbers does not
  // (a mismatch returns the zero value: the schema is ours, so it is a programmer error).
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  const std::string& Str(size_t i) const;  // empty for NULL
  std::optional<int64_t> OptInt(size_t i) const;
  std::optional<std::string> OptStr(size_t i) const;
  const Value& at(size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

struct Rows {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  int64_t affected = 0;  // rows changed by an INSERT/UPDATE/DELETE

  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  const Row& operator[](size_t i) const { return rows[i]; }
  auto begin() const { return rows.begin(); }
  auto end() const { return rows.end(); }
};

// One connection inside one transaction. Not thread-safe; lives only inside
// Db::WithRead/WithWrite. Errors: unique or foreign-key violations → kConflict, lock or
// serialization failures → kUnavailable, anything else → kInternal (SQL text only in
// Error::internal, never shown to clients).
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Dialect dialect() const = 0;
  virtual Result<Rows> Exec(const Query& q, const std::vector<Value>& params) = 0;
  Result<Rows> Exec(const Query& q, std::initializer_list<Value> params = {}) {
    return Exec(q, std::vector<Value>(params));
  }
  // Runs q as the transaction's last statement: a driver may send the COMMIT with it
  // (PostgreSQL: one round trip for both, so row locks it takes are held one round trip
  // less). Once it succeeds, fn must return ok at once without running anything else:
  // the transaction may already be committed. When it fails, nothing is committed.
  virtual Result<Rows> ExecLast(const Query& q, const std::vector<Value>& params) { return Exec(q, params); }
  Result<Rows> ExecLast(const Query& q, std::initializer_list<Value> params = {}) {
    return ExecLast(q, std::vector<Value>(params));
  }
  // Queues a write whose rows the caller does not need: a driver may send it together with
  // the transaction's next statement (PostgreSQL: in one pipeline, so it costs no round trip
  // of its own). Queued statements run in the order queued, before anything run after them.
  // When one fails, or changes another number of rows than `expect->affected`, its error
  // (for a count that differs: `expect->mismatch`) comes back from Queue itself or from the
  // next Exec/ExecLast (or the commit, when none follows), the statement queued or run then
  // does not run, and the transaction fails. A caller that needs a statement's rows or count
  // to decide what to do next runs it with Exec instead. SQLite runs it at once (a
  // statement costs microseconds there).
  struct Expect {
    int64_t affected;
    Error mismatch;
  };
  virtual Status Queue(const Query& q, const std::vector<Value>& params, std::optional<Expect> expect = {}) {
    ASSIGN_OR_RETURN(Rows done, Exec(q, params));
    if (expect && done.affected != expect->affected) return std::move(expect->mismatch);
    return Ok();
  }
  // Several statements without parameters, for migrations. Not cached.
  virtual Status ExecScript(std::string_view sql) = 0;
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  // Human-readable target without credentials, for logs ("sqlite:data/host.db").
  virtual std::string Describe() const = 0;

  // Runs fn in a read-only snapshot transaction.
  virtual Status WithRead(const std::function<Status(Tx&)>& fn) = 0;
  // Runs fn in a write transaction; commits when fn returns ok, rolls back otherwise.
  // On SQLite writes are serialised through one writer connection.
  virtual Status WithWrite(const std::function<Status(Tx&)>& fn) = 0;
  // Cheap liveness query for /readyz.
  virtual Status Ping() = 0;

  // Convenience: run a function returning Result<T> and hand its result back.
  template <typename F>
  auto Read(F&& f) -> std::invoke_result_t<F, Tx&> {
    return Run(false, std::forward<F>(f));
  }
  template <typename F>
  auto Write(F&& f) -> std::invoke_result_t<F, Tx&> {
    return Run(true, std::forward<F>(f));
  }

 private:
  template <typename F>
  auto Run(bool write, F&& f) -> std::invoke_result_t<F, Tx&> {
    using R = std::invoke_result_t<F, Tx&>;
    std::optional<R> out;
    auto body = [&](Tx& tx) -> Status {
      out.emplace(f(tx));
      if (!out->ok()) return out->error();
      return Ok();
    };
    Status s = write ? WithWrite(body) : WithRead(body);
    if (!s.ok()) return std::move(s).error();
    return std::move(*out);
  }
};

struct DbOptions {
  // PostgreSQL: schema for this role's tables when the URL names none (?schema=...).
  std::string default_schema = "public";
  // Connections (PostgreSQL) or reader connections (SQLite).
  size_t pool_size = 4;
  // SQLite: synchronous=FULL by default (every commit durable).
  bool sqlite_synchronous_full = true;
};

// Opens a database from a SQLite file path ("data/host.db", "sqlite:..." accepted) or a
// PostgreSQL URL ("postgresql://user@host:port/db?schema=host"). Creates parent folders
// and the PostgreSQL schema if missing.
Result<std::unique_ptr<Db>> OpenDb(const std::string& target, const DbOptions& options);

// Versioned migrations, applied in order, each in its own transaction, recorded in
// schema_migrations. Safe to call concurrently from several nodes.
struct Migration {
  int version;
  const char* name;
  const char* sql;  // both dialects unless pg_sql is set
  const char* pg_sql = nullptr;
};
// Returns the number of migrations applied now.
Result<int> Migrate(Db& db, const std::vector<Migration>& migrations);

}  // namespace hutong::storage
