#include "storage/sqlite/sqlite_db.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "common/log.h"

namespace hutong::storage {
namespace sqlite_internal {
namespace {

// Another process may hold the write lock for a while (a long migration, a checkpoint);
// wait this long before answering kUnavailable.
constexpr int kBusyTimeoutMs = 5000;
// A caller that cannot get a reader this long is most likely nesting reads on one thread.
constexpr auto kCheckOutTimeout = std::chrono::seconds(30);

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string internal = "sqlite: ";
  internal += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  internal += " (";
  internal += what;
  internal += ")";
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Error(ErrorCode::kConflict, "conflict", std::move(internal));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorCode::kUnavailable, "database busy, try again", std::move(internal));
    default:
      return Internal(std::move(internal));
  }
}

// Resets a statement and drops its bindings when the use ends, however it ends, so the
// cached statement never holds a read snapshot or pointers into a caller's strings.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

}  // namespace

// Lets the statement cache be searched with the query's const char* name without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct CachedStmt {
  sqlite3_stmt* stmt = nullptr;
  const char* sql = nullptr;     // to catch two queries sharing one name
  std::vector<int> param_index;  // param_index[i] is the bind index of $(i+1)
};

// One sqlite3 handle. Used by one thread at a time (the writer under writer_mu_, a reader
// while checked out), hence opened with SQLITE_OPEN_NOMUTEX.
struct Conn {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, CachedStmt, StringHash, std::equal_to<>> cache;

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    for (auto& [name, cached] : cache) sqlite3_finalize(cached.stmt);
    if (db != nullptr) sqlite3_close_v2(db);
  }

  // The cached prepared statement for q, preparing it on first use.
  Result<CachedStmt*> Prepare(const Query& q) {
    auto it = cache.find(std::string_view(q.name));
    if (it != cache.end()) {
      // Two Query objects may legitimately carry equal text at different addresses.
      if (it->second.sql != q.sql && std::strcmp(it->second.sql, q.sql) != 0) {
        return Internal(std::string("query name used for two different statements: ") + q.name);
      }
      return &it->second;
    }
    CachedStmt cached;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db, q.sql, -1, SQLITE_PREPARE_PERSISTENT, &cached.stmt, &tail);
    if (rc != SQLITE_OK) return SqliteError(db, rc, q.name);
    cached.sql = q.sql;
    auto fail = [&](std::string why) -> Error {
      sqlite3_finalize(cached.stmt);
      return Internal(why + ": " + q.name);
    };
    if (cached.stmt == nullptr) return fail("empty query");
    if (tail != nullptr && std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      return fail("query holds more than one statement");
    }
    // SQLite sees $1 as a named parameter and gives one index to all of its occurrences.
    // Requiring every $1..$n to be present keeps the parameter count equal to PostgreSQL's.
    int count = sqlite3_bind_parameter_count(cached.stmt);
    for (int i = 1; i <= count; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "$%d", i);
      int index = sqlite3_bind_parameter_index(cached.stmt, name);
      if (index == 0) return fail("placeholders must be $1..$n without gaps");
      cached.param_index.push_back(index);
    }
    return &cache.emplace(q.name, std::move(cached)).first->second;
  }

  // Runs a statement that returns no rows of interest (BEGIN, COMMIT, PRAGMA ...).
  Status Run(const Query& q) {
    ASSIGN_OR_RETURN(CachedStmt * cached, Prepare(q));
    StmtUse use(cached->stmt);
    int rc;
    while ((rc = sqlite3_step(cached->stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return SqliteError(db, rc, q.name);
    return Ok();
  }

  // Ends whatever transaction is open; used on every failure path.
  void RollbackIfOpen() {
    if (db == nullptr || sqlite3_get_autocommit(db) != 0) return;
    static constexpr Query kRollback{"sqlite.rollback", Access::kRead, "ROLLBACK"};
    Status s = Run(kRollback);
    if (!s.ok()) LogError("sqlite rollback failed", {{"error", s.error().internal}});
  }
};

namespace {

constexpr Query kBeginRead{"sqlite.begin_deferred", Access::kRead, "BEGIN DEFERRED"};
constexpr Query kBeginWrite{"sqlite.begin_immediate", Access::kWrite, "BEGIN IMMEDIATE"};
constexpr Query kCommit{"sqlite.commit", Access::kRead, "COMMIT"};
constexpr Query kPing{"sqlite.ping", Access::kRead, "SELECT 1"};
constexpr Query kSavepoint{"sqlite.savepoint", Access::kWrite, "SAVEPOINT hutong_group"};
constexpr Query kRelease{"sqlite.release", Access::kWrite, "RELEASE hutong_group"};
constexpr Query kRollbackTo{"sqlite.rollback_to", Access::kWrite, "ROLLBACK TO hutong_group"};
// Writes queued behind one commit that share the next one.
constexpr size_t kMaxGroup = 128;

class SqliteTx final : public Tx {
 public:
  SqliteTx(Conn& conn, bool write) : conn_(conn), write_(write) {}

  Dialect dialect() const override { return Dialect::kSqlite; }
  using Tx::Exec;

  Result<Rows> Exec(const Query& q, const std::vector<Value>& params) override {
    if (q.access == Access::kWrite && !write_) {
      // A programmer error: the caller picked WithRead for a write.
      return Internal(std::string("write query in a read transaction: ") + q.name);
    }
    ASSIGN_OR_RETURN(CachedStmt * cached, conn_.Prepare(q));
    sqlite3_stmt* stmt = cached->stmt;
    StmtUse use(stmt);
    if (params.size() != cached->param_index.size()) {
      return Internal(std::string("wrong number of parameters (") + std::to_string(params.size()) + " for " +
                      std::to_string(cached->param_index.size()) + "): " + q.name);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int index = cached->param_index[i];
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (const auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, index, *n);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, index, *d);
      } else {
        // SQLITE_STATIC: params outlives the statement use (StmtUse clears bindings).
        const std::string& s = std::get<std::string>(v);
        rc = sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
      if (rc != SQLITE_OK) return SqliteError(conn_.db, rc, q.name);
    }

    Rows out;
    int ncol = sqlite3_column_count(stmt);
    out.columns.reserve(ncol);
    for (int c = 0; c < ncol; ++c) out.columns.emplace_back(sqlite3_column_name(stmt, c));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<Value> values;
      values.reserve(ncol);
      for (int c = 0; c < ncol; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER:
            values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_FLOAT:
            values.emplace_back(sqlite3_column_double(stmt, c));
            break;
          case SQLITE_NULL:
            values.emplace_back(std::monostate{});
            break;
          case SQLITE_BLOB: {
            const void* p = sqlite3_column_blob(stmt, c);
            int n = sqlite3_column_bytes(stmt, c);
            values.emplace_back(std::string(static_cast<const char*>(p), p != nullptr ? n : 0));
            break;
          }
          default: {  // SQLITE_TEXT; the pointer must be taken before the length
            const unsigned char* p = sqlite3_column_text(stmt, c);
            int n = sqlite3_column_bytes(stmt, c);
            values.emplace_back(std::string(reinterpret_cast<const char*>(p), p != nullptr ? n : 0));
            break;
          }
        }
      }
      out.rows.emplace_back(std::move(values));
    }
    if (rc != SQLITE_DONE) return SqliteError(conn_.db, rc, q.name);
    if (sqlite3_stmt_readonly(stmt) == 0) out.affected = sqlite3_changes64(conn_.db);
    return out;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(conn_.db, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string what = std::string("script: ") + (err != nullptr ? err : sqlite3_errstr(rc));
      sqlite3_free(err);
      return SqliteError(conn_.db, rc, what);
    }
    return Ok();
  }

 private:
  Conn& conn_;
  const bool write_;
};

// BEGIN, fn, COMMIT; ROLLBACK on any failure or exception.
Status RunTransaction(Conn& conn, bool write, const std::function<Status(Tx&)>& fn) {
  RETURN_IF_ERROR(conn.Run(write ? kBeginWrite : kBeginRead));
  struct RollbackGuard {
    Conn& conn;
    ~RollbackGuard() { conn.RollbackIfOpen(); }
  } guard{conn};
  SqliteTx tx(conn, write);
  RETURN_IF_ERROR(fn(tx));
  return conn.Run(kCommit);  // on failure (SQLITE_BUSY) the guard rolls back
}

Status ExecPragmas(sqlite3* db, const std::string& sql, const std::string& path) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string what = "configure " + path + ": " + (err != nullptr ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return SqliteError(db, rc, what);
  }
  return Ok();
}

Result<std::unique_ptr<Conn>> OpenConn(const std::string& path, bool reader, const DbOptions& options) {
  auto conn = std::make_unique<Conn>();
  int rc = sqlite3_open_v2(path.c_str(), &conn->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return SqliteError(conn->db, rc, "open " + path);
  sqlite3_extended_result_codes(conn->db, 1);
  sqlite3_busy_timeout(conn->db, kBusyTimeoutMs);
  if (!reader) {
    // WAL is persistent in the file; the writer sets it before any reader opens.
    std::string mode;
    char* err = nullptr;
    rc = sqlite3_exec(
        conn->db, "PRAGMA journal_mode=WAL",
        [](void* out, int n, char** values, char**) {
          if (n > 0 && values[0] != nullptr) *static_cast<std::string*>(out) = values[0];
          return 0;
        },
        &mode, &err);
    if (rc != SQLITE_OK) {
      std::string what = "enable WAL on " + path + ": " + (err != nullptr ? err : sqlite3_errstr(rc));
      sqlite3_free(err);
      return SqliteError(conn->db, rc, what);
    }
    if (mode != "wal")
      return Internal("sqlite: WAL unavailable for " + path + " (journal_mode=" + mode + ")");
  }
  std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA synchronous=";
  pragmas += options.sqlite_synchronous_full ? "FULL;" : "NORMAL;";
  // Readers refuse writes in the engine too, whatever a query claims to be.
  if (reader) pragmas += " PRAGMA query_only=ON;";
  // Readers keep 4 MB of pages (default 2 MB): the interior pages of a 1,000,000-row
  // table with its indexes (about 2.6 MB for the host's geo_stores and app_deals) stay
  // cached, so a lookup by key copies only its leaf page from the OS.
  if (reader) pragmas += " PRAGMA cache_size=-4096;";
  RETURN_IF_ERROR(ExecPragmas(conn->db, pragmas, path));
  return conn;
}

// Sub-journals (the undo records of a SAVEPOINT or of one statement inside a transaction)
// stay in memory up to this size, and only a larger one goes to a temporary file. Every
// write of a group commit runs in its own SAVEPOINT, and each of its statements journals
// the pages it changes again, so one write's sub-journal is often larger than SQLite's
// default of 64 KiB: it then spilled to a new file under /var/tmp (opened, unlinked and
// written page by page with two pwrite calls each, about 53 of the 78 pwrite calls per
// purchase) that nothing ever reads unless that write fails. SQLite allocates the
// in-memory journal as one block of this size when the first record is written (only the
// bytes written are touched) and frees it when the last open savepoint ends.
constexpr int kSubJournalInMemoryBytes = 4 << 20;

// Process-wide SQLite settings; they only take effect before SQLite initialises (the first
// open), later they are refused and change nothing.
//
// Memory statistics off: Debian's SQLite is built with SQLITE_OMIT_LOOKASIDE, so a
// statement's small allocations (each text value it reads or writes, RETURNING's ephemeral
// table, ...: about 500 per purchase) all go to malloc, and with memory statistics on (the
// default) every one of those mallocs and frees also takes SQLite's single process-wide
// mutex and measures the block, from every worker thread of both roles. Nothing here reads
// the statistics (sqlite3_memory_used, a soft heap limit).
void ConfigureSqlite() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, kSubJournalInMemoryBytes);
  });
}

}  // namespace
}  // namespace sqlite_internal

using sqlite_internal::Conn;

SqliteDb::SqliteDb(std::string path) : path_(std::move(path)) {}
SqliteDb::~SqliteDb() = default;

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, const DbOptions& options) {
  if (path.empty()) return Internal("sqlite: empty database path");
  sqlite_internal::ConfigureSqlite();
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Internal("sqlite: cannot create folder " + parent.string() + ": " + ec.message());
  }
  std::unique_ptr<SqliteDb> db(new SqliteDb(path));
  ASSIGN_OR_RETURN(db->writer_, sqlite_internal::OpenConn(path, false, options));
  size_t readers = options.pool_size > 0 ? options.pool_size : 1;
  for (size_t i = 0; i < readers; ++i) {
    ASSIGN_OR_RETURN(auto reader, sqlite_internal::OpenConn(path, true, options));
    db->free_readers_.push_back(reader.get());
    db->readers_.push_back(std::move(reader));
  }
  return db;
}

Conn* SqliteDb::CheckOut() {
  std::unique_lock lock(pool_mu_);
  if (!pool_cv_.wait_for(lock, sqlite_internal::kCheckOutTimeout, [&] { return !free_readers_.empty(); })) {
    return nullptr;
  }
  Conn* conn = free_readers_.back();
  free_readers_.pop_back();
  return conn;
}

void SqliteDb::CheckIn(Conn* conn) {
  {
    std::lock_guard lock(pool_mu_);
    free_readers_.push_back(conn);
  }
  pool_cv_.notify_one();
}

Status SqliteDb::WithRead(const std::function<Status(Tx&)>& fn) {
  Conn* conn = CheckOut();
  if (conn == nullptr) {
    return Error(ErrorCode::kUnavailable, "database busy, try again",
                 "sqlite: no free reader connection for " + path_);
  }
  struct CheckInGuard {
    SqliteDb* db;
    Conn* conn;
    ~CheckInGuard() { db->CheckIn(conn); }
  } guard{this, conn};
  return sqlite_internal::RunTransaction(*conn, false, fn);
}

// One queued write. Its waiter sleeps on its own mutex and condition variable, so the
// leader wakes exactly the callers whose writes it committed (once each) and the one it
// hands the lead to, and none of them contends for queue_mu_ on waking.
struct SqliteDb::WriteRequest {
  enum class State { kWaiting, kDone, kLead };

  explicit WriteRequest(const std::function<Status(Tx&)>* f) : fn(f) {}

  // Called by the leader; the request may be destroyed by its waiter as soon as `mu` is
  // released, so nothing touches it after this.
  void Signal(State to) {
    std::lock_guard lock(mu);
    state = to;
    cv.notify_one();
  }
  State Wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return state != State::kWaiting; });
    return state;
  }

  const std::function<Status(Tx&)>* fn;
  // Written by the leader before Signal(kDone), read by the waiter after Wait().
  Status result = Ok();
  std::exception_ptr exception;

  std::mutex mu;
  std::condition_variable cv;
  State state = State::kWaiting;  // GUARDED_BY(mu)
};

Status SqliteDb::WithWrite(const std::function<Status(Tx&)>& fn) {
  WriteRequest me(&fn);
  bool lead = false;
  {
    std::lock_guard lock(queue_mu_);
    queue_.push_back(&me);
    // No leader means an empty queue (a leader only steps down when it finds none), so
    // this write is the queue's front.
    if (!leader_active_) lead = leader_active_ = true;
  }
  if (!lead) lead = me.Wait() == WriteRequest::State::kLead;
  if (lead) {
    // Handed the lead, this write is the oldest queued one: take it and what queued
    // behind it (oldest first, at most kMaxGroup) and run them as one group.
    std::vector<WriteRequest*> batch;
    {
      std::lock_guard lock(queue_mu_);
      if (queue_.size() <= sqlite_internal::kMaxGroup) {
        batch.swap(queue_);
      } else {
        batch.assign(queue_.begin(), queue_.begin() + sqlite_internal::kMaxGroup);
        queue_.erase(queue_.begin(), queue_.begin() + sqlite_internal::kMaxGroup);
      }
    }
    {
      std::lock_guard writer(writer_mu_);
      RunWriteBatch(batch);
    }
    WriteRequest* next = nullptr;
    {
      std::lock_guard lock(queue_mu_);
      if (queue_.empty()) {
        leader_active_ = false;
      } else {
        next = queue_.front();
      }
    }
    // The next group starts first; then the callers of this one return.
    if (next != nullptr) next->Signal(WriteRequest::State::kLead);
    for (WriteRequest* r : batch) {
      if (r != &me) r->Signal(WriteRequest::State::kDone);
    }
  }
  if (me.exception) std::rethrow_exception(me.exception);
  return std::move(me.result);
}

void SqliteDb::RunWriteBatch(const std::vector<WriteRequest*>& batch) {
  using sqlite_internal::kBeginWrite;
  using sqlite_internal::kCommit;
  Conn& conn = *writer_;
  if (batch.size() == 1) {
    WriteRequest& r = *batch[0];
    try {
      r.result = sqlite_internal::RunTransaction(conn, true, *r.fn);
    } catch (...) {
      r.exception = std::current_exception();
    }
    return;
  }
  struct RollbackGuard {
    Conn& conn;
    ~RollbackGuard() { conn.RollbackIfOpen(); }
  } guard{conn};
  std::vector<WriteRequest*> applied;  // released into the open transaction
  bool open = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    WriteRequest* r = batch[i];
    if (!open) {
      Status begin = conn.Run(kBeginWrite);
      if (!begin.ok()) {
        r->result = begin;
        continue;
      }
      open = true;
    }
    Status sp = conn.Run(sqlite_internal::kSavepoint);
    if (!sp.ok()) {
      r->result = sp;
      continue;
    }
    sqlite_internal::SqliteTx tx(conn, true);
    Status s = Ok();
    try {
      s = (*r->fn)(tx);
    } catch (...) {
      r->exception = std::current_exception();
      s = Internal("exception in a write transaction");
    }
    if (sqlite3_get_autocommit(conn.db) != 0) {
      // The engine rolled the whole transaction back (I/O error, disk full): the writes
      // of the group so far are gone; their callers get an error, the rest go on.
      for (WriteRequest* a : applied) {
        a->result = Error(ErrorCode::kUnavailable, "database busy, try again",
                          "sqlite: group transaction rolled back by a failure of another write");
      }
      applied.clear();
      open = false;
      if (!r->exception) r->result = s.ok() ? Internal("sqlite: transaction rolled back by the engine") : s;
      continue;
    }
    if (s.ok()) {
      Status released = conn.Run(sqlite_internal::kRelease);
      if (released.ok()) {
        applied.push_back(r);
        continue;
      }
      s = released;
    }
    // This write alone is undone; the savepoint is then closed.
    Status undone = conn.Run(sqlite_internal::kRollbackTo);
    if (undone.ok()) undone = conn.Run(sqlite_internal::kRelease);
    if (!r->exception) r->result = s;
    if (!undone.ok()) {
      // Cannot isolate it: give up on the whole group (the guard rolls back).
      for (WriteRequest* a : applied) a->result = undone;
      for (size_t j = i + 1; j < batch.size(); ++j) batch[j]->result = undone;
      return;
    }
  }
  if (!open) return;
  Status committed = conn.Run(kCommit);  // on failure the guard rolls back
  for (WriteRequest* a : applied) a->result = committed;
}

Status SqliteDb::Ping() {
  return WithRead([](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Rows rows, tx.Exec(sqlite_internal::kPing));
    if (rows.size() != 1) return Internal("sqlite: ping returned no row");
    return Ok();
  });
}

}  // namespace hutong::storage
