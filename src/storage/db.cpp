#include "storage/db.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "common/log.h"
#include "storage/postgres/pg_db.h"
#include "storage/sqlite/sqlite_db.h"

namespace hutong::storage {

int64_t Row::Int(size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* n = std::get_if<int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  return 0;
}

double Row::Double(size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<int64_t>(&v)) return static_cast<double>(*n);
  return 0;
}

const std::string& Row::Str(size_t i) const {
  static const std::string kEmpty;
  const Value& v = values_.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return kEmpty;
}

std::optional<int64_t> Row::OptInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}

std::optional<std::string> Row::OptStr(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Str(i);
}

Result<std::unique_ptr<Db>> OpenDb(const std::string& target, const DbOptions& options) {
  std::string_view t = target;
  if (t.starts_with("postgres://") || t.starts_with("postgresql://")) {
    ASSIGN_OR_RETURN(auto db, PgDb::Open(target, options));
    return std::unique_ptr<Db>(std::move(db));
  }
  if (t.starts_with("sqlite:")) t.remove_prefix(7);
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open(std::string(t), options));
  return std::unique_ptr<Db>(std::move(db));
}

namespace {

constexpr const char* kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

// PostgreSQL: serialises migrators of one schema across nodes until the transaction ends.
// SQLite needs nothing: a write transaction (BEGIN IMMEDIATE) already excludes all others.
constexpr Query kMigrateLock{
    "storage.migrate.lock", Access::kWrite, "SELECT 1",
    "SELECT pg_advisory_xact_lock(hashtext('hutong.migrate'), hashtext(current_schema()))"};
constexpr Query kAppliedVersions{"storage.migrate.applied", Access::kRead,
                                 "SELECT version FROM schema_migrations"};
constexpr Query kIsApplied{"storage.migrate.is_applied", Access::kWrite,
                           "SELECT 1 FROM schema_migrations WHERE version = $1"};
constexpr Query kRecord{"storage.migrate.record", Access::kWrite,
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)"};

Status LockForMigration(Tx& tx) {
  if (tx.dialect() != Dialect::kPostgres) return Ok();
  Result<Rows> locked = tx.Exec(kMigrateLock);
  if (!locked.ok()) return std::move(locked).error();
  return Ok();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<int> Migrate(Db& db, const std::vector<Migration>& migrations) {
  std::vector<const Migration*> ordered;
  std::set<int> versions;
  for (const Migration& m : migrations) {
    if (m.version <= 0 || m.sql == nullptr || !versions.insert(m.version).second) {
      return Internal("migration list is malformed at version " + std::to_string(m.version));
    }
    ordered.push_back(&m);
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration* a, const Migration* b) { return a->version < b->version; });

  // Under the lock, so that two nodes starting at once do not both create the table.
  RETURN_IF_ERROR(db.WithWrite([](Tx& tx) -> Status {
    RETURN_IF_ERROR(LockForMigration(tx));
    return tx.ExecScript(kCreateMigrationsTable);
  }));

  std::set<int64_t> applied;
  RETURN_IF_ERROR(db.WithRead([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Rows rows, tx.Exec(kAppliedVersions));
    for (const Row& row : rows) applied.insert(row.Int(0));
    return Ok();
  }));

  int count = 0;
  const std::string where = db.Describe();
  for (const Migration* m : ordered) {
    if (applied.count(m->version) != 0) continue;
    const char* name = m->name != nullptr ? m->name : "";
    bool ran = false;
    Status s = db.WithWrite([&](Tx& tx) -> Status {
      RETURN_IF_ERROR(LockForMigration(tx));
      // Someone else may have applied it since we looked.
      ASSIGN_OR_RETURN(Rows done, tx.Exec(kIsApplied, {int64_t{m->version}}));
      if (!done.empty()) return Ok();
      const char* sql = tx.dialect() == Dialect::kPostgres && m->pg_sql != nullptr ? m->pg_sql : m->sql;
      RETURN_IF_ERROR(tx.ExecScript(sql));
      RETURN_IF_ERROR(tx.Exec(kRecord, {int64_t{m->version}, std::string(name), NowMs()}));
      ran = true;
      return Ok();
    });
    if (!s.ok()) {
      Error e = std::move(s).error();
      e.internal = "migration " + std::to_string(m->version) + " (" + name + "): " + e.internal;
      return e;
    }
    if (ran) {
      ++count;
      LogInfo("migration applied", {{"db", std::string_view(where)},
                                    {"version", int64_t{m->version}},
                                    {"name", std::string_view(name)}});
    }
  }
  return count;
}

}  // namespace hutong::storage
