#include "storage/postgres/pg_db.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/log.h"

namespace hutong::storage {
namespace pg_internal {

// Lets the statement cache be searched with the query's const char* name without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Prepared {
  std::string stmt_name;  // short server-side name ("s17"); Query::name may be long
  const char* sql = nullptr;
  int n_params = 0;
};

// One slot of the pool; pg is null until connected. Used by one thread at a time (while
// checked out).
struct Conn {
  PGconn* pg = nullptr;
  std::unordered_map<std::string, Prepared, StringHash, std::equal_to<>> cache;
  uint64_t next_stmt = 0;

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { Close(); }

  bool Connected() const { return pg != nullptr && PQstatus(pg) == CONNECTION_OK; }
  void Close() {
    if (pg != nullptr) PQfinish(pg);
    pg = nullptr;
    cache.clear();  // server-side statements die with the session
  }
};

namespace {

constexpr auto kCheckOutTimeout = std::chrono::seconds(30);
// Cache key suffix of a statement prepared with its row count checked (PgTx::Prepare).
constexpr std::string_view kCheckedSuffix = "#checked";
// libpq waits forever for an unresponsive host unless told otherwise.
constexpr const char* kDefaultConnectTimeout = "10";

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string TrimMessage(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Error Unavailable(std::string internal) {
  return Error(ErrorCode::kUnavailable, "database unavailable, try again", std::move(internal));
}

// Maps a failed result (or a failed connection) to our error codes by SQLSTATE.
Error PgError(PGconn* pg, const PGresult* res, std::string_view what) {
  std::string msg = TrimMessage(res != nullptr ? PQresultErrorMessage(res) : nullptr);
  if (msg.empty()) msg = TrimMessage(PQerrorMessage(pg));
  const char* state_ptr = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view state = state_ptr != nullptr ? state_ptr : "";
  std::string internal = "postgres: " + msg + " (" + std::string(what) + ")";
  if (!state.empty()) internal += " [" + std::string(state) + "]";

  if (PQstatus(pg) != CONNECTION_OK) return Unavailable(std::move(internal));
  if (state.starts_with("23")) return Error(ErrorCode::kConflict, "conflict", std::move(internal));
  if (state == "40001" || state == "40P01" || state == "55P03" ||  // serialization, deadlock, lock
      state == "53300" || state == "57P01" || state == "57P02" || state == "57P03" ||  // too many
      (state.starts_with("08") && state != "08P01")) {  // connection exceptions
    return Error(ErrorCode::kUnavailable, "database busy, try again", std::move(internal));
  }
  return Internal(std::move(internal));
}

void DiscardNotice(void*, const char* message) {
  // "relation already exists, skipping" and the like; libpq would print them to stderr.
  Log(LogLevel::kDebug, "postgres notice", {{"message", std::string_view(message)}});
}

bool ValidSchemaName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  for (char c : s) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Parameters go as text; PostgreSQL infers each placeholder's type from the statement.
void ToText(const Value& v, std::string& out, bool& is_null) {
  is_null = false;
  if (std::holds_alternative<std::monostate>(v)) {
    is_null = true;
  } else if (const auto* n = std::get_if<int64_t>(&v)) {
    out = std::to_string(*n);
  } else if (const auto* d = std::get_if<double>(&v)) {
    if (std::isnan(*d)) {
      out = "NaN";
    } else if (std::isinf(*d)) {
      out = *d > 0 ? "Infinity" : "-Infinity";
    } else {
      // Shortest text that reads back as the same double (and never locale-dependent).
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, *d);
      out.assign(buf, r.ptr);
    }
  } else {
    out = std::get<std::string>(v);
  }
}

// Column text → Value by the column's type OID (pg_type.dat).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26, kFloat4Oid = 700,
              kFloat8Oid = 701, kNumericOid = 1700;

Value FromText(Oid type, const char* text, int len) {
  const char* end = text + len;
  switch (type) {
    case kBoolOid:
      return static_cast<int64_t>(len > 0 && text[0] == 't' ? 1 : 0);
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      int64_t n = 0;
      std::from_chars(text, end, n);
      return n;
    }
    case kFloat4Oid:
    case kFloat8Oid: {
      double d = 0;
      std::from_chars(text, end, d);
      return d;
    }
    case kNumericOid: {
      // SUM(bigint) is numeric: whole numbers become integers as on SQLite, others double.
      int64_t n = 0;
      auto r = std::from_chars(text, end, n);
      if (r.ec == std::errc() && r.ptr == end) return n;
      double d = 0;
      auto rd = std::from_chars(text, end, d);
      if (rd.ec == std::errc() && rd.ptr == end) return d;
      return std::string(text, len);
    }
    default:
      return std::string(text, len);
  }
}

bool IsRowCountTag(const char* tag) {
  return std::strncmp(tag, "INSERT", 6) == 0 || std::strncmp(tag, "UPDATE", 6) == 0 ||
         std::strncmp(tag, "DELETE", 6) == 0 || std::strncmp(tag, "MERGE", 5) == 0;
}

// Runs a statement through the simple protocol; ok on COMMAND_OK/TUPLES_OK.
Result<ResultPtr> Simple(PGconn* pg, const char* sql, std::string_view what) {
  ResultPtr res(PQexec(pg, sql));
  ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(pg, res.get(), what);
  return res;
}

bool ResultOk(const PGresult* res) {
  ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

// A transaction on one connection. BEGIN is not sent on its own: it goes in one libpq
// pipeline with the first statement, and ExecLast sends COMMIT in one with the last, so a
// transaction of n statements costs n round trips instead of n + 2. Queued statements
// (Tx::Queue) wait for the next statement (or the COMMIT) and go in its pipeline, so they
// cost no round trip of their own. A read transaction whose first statement is its last
// (ExecLast) sends neither BEGIN nor COMMIT.
class PgTx final : public Tx {
 public:
  // begin: the statement that opens the transaction. reconnect: reopens the session when
  // the pooled one turns out dead before anything of this transaction ran.
  PgTx(Conn& conn, bool write, const char* begin, std::function<Status()> reconnect)
      : conn_(conn), write_(write), begin_(begin), reconnect_(std::move(reconnect)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }
  using Tx::Exec;
  using Tx::ExecLast;

  Result<Rows> Exec(const Query& q, const std::vector<Value>& params) override {
    return Run(&q, params, false);
  }
  Result<Rows> ExecLast(const Query& q, const std::vector<Value>& params) override {
    return Run(&q, params, true);
  }
  Status Queue(const Query& q, const std::vector<Value>& params, std::optional<Expect> expect) override {
    RETURN_IF_ERROR(Check(q));
    Queued& queued = queued_.emplace_back(Queued{q, {}, {}, std::move(expect)});
    const size_t n = params.size() + (queued.expect ? 1 : 0);
    queued.texts.resize(n);
    queued.is_null.resize(n);
    for (size_t i = 0; i < params.size(); ++i) {
      bool is_null = false;
      ToText(params[i], queued.texts[i], is_null);
      queued.is_null[i] = is_null;
    }
    if (queued.expect)
      queued.texts.back() = std::to_string(queued.expect->affected);  // the check's parameter
    return Ok();
  }
  // Sends what is queued with the COMMIT (RunTransaction, when fn ran no ExecLast).
  Status CommitQueued() {
    auto res = Run(nullptr, {}, true);
    if (!res.ok()) return std::move(res).error();
    return Ok();
  }

  Status ExecScript(std::string_view sql) override {
    if (committed_) return Internal("postgres: script after the transaction's last statement");
    if (!queued_.empty()) return Internal("postgres: script after queued statements");
    if (!began_) {
      auto began = Simple(conn_.pg, begin_, "begin");
      if (!began.ok() && !conn_.Connected()) {
        RETURN_IF_ERROR(reconnect_());
        began = Simple(conn_.pg, begin_, "begin");
      }
      if (!began.ok()) return std::move(began).error();
      began_ = true;
    }
    std::string text(sql);
    ResultPtr res(PQexec(conn_.pg, text.c_str()));
    ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
      return PgError(conn_.pg, res.get(), "script");
    }
    return Ok();
  }

  // Whether BEGIN has run (a transaction that ran nothing has nothing to commit).
  bool began() const { return began_; }
  // Whether statements wait to be sent (CommitQueued sends them).
  bool has_queued() const { return !queued_.empty(); }
  // Whether ExecLast already committed.
  bool committed() const { return committed_; }

 private:
  // A statement queued by Queue, with its parameters as text.
  struct Queued {
    Query query;
    std::vector<std::string> texts;
    std::vector<bool> is_null;
    std::optional<Expect> expect;
  };

  Status Check(const Query& q) const {
    if (q.access == Access::kWrite && !write_) {
      // A programmer error: the caller picked WithRead for a write.
      return Internal(std::string("write query in a read transaction: ") + q.name);
    }
    if (committed_) return Internal(std::string("statement after the transaction's last one: ") + q.name);
    return Ok();
  }

  // Runs q (none: only what is queued, with the COMMIT) after the queued statements.
  Result<Rows> Run(const Query* q, const std::vector<Value>& params, bool commit) {
    if (q != nullptr) RETURN_IF_ERROR(Check(*q));
    if (committed_) return Internal("postgres: commit after the transaction's last statement");
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      bool is_null = false;
      ToText(params[i], texts[i], is_null);
      values[i] = is_null ? nullptr : texts[i].c_str();
    }
    // A pooled session the server closed meanwhile (restart, idle timeout) shows only now.
    // When nothing of this transaction has run and no COMMIT went out, reconnecting and
    // starting again is safe; so it is for a read's only statement, which changes nothing.
    const bool may_retry = !began_ && (!commit || !write_);
    auto res = Attempt(q, values, commit);
    if (!res.ok() && may_retry && !conn_.Connected()) {
      RETURN_IF_ERROR(reconnect_());
      res = Attempt(q, values, commit);
    }
    // Sent (or failed for good): the transaction has them, or is lost.
    queued_.clear();
    if (!res.ok()) return std::move(res).error();
    if (q == nullptr) return Rows{};
    return ToRows(res->get());
  }

  // Prepares what is due and runs the queued statements and q (none: only the queued ones)
  // in one pipeline, with BEGIN before and COMMIT after as due.
  Result<ResultPtr> Attempt(const Query* q, const std::vector<const char*>& values, bool commit) {
    std::vector<Prepared*> queued_prepared;
    queued_prepared.reserve(queued_.size());
    for (const Queued& w : queued_) {
      ASSIGN_OR_RETURN(Prepared * p, Prepare(w.query, w.expect.has_value()));
      RETURN_IF_ERROR(CheckParams(w.query, p, w.texts.size()));
      queued_prepared.push_back(p);
    }
    Prepared* p = nullptr;
    if (q != nullptr) {
      ASSIGN_OR_RETURN(p, Prepare(*q));
      RETURN_IF_ERROR(CheckParams(*q, p, values.size()));
    }
    PGconn* pg = conn_.pg;
    const int n = static_cast<int>(values.size());
    if (began_ && !commit && queued_.empty()) {
      ResultPtr res(PQexecPrepared(pg, p->stmt_name.c_str(), n, values.data(), nullptr, nullptr, 0));
      if (!ResultOk(res.get())) return StatementError(res.get(), q->name);
      return res;
    }

    // BEGIN and/or COMMIT around the statements, in one pipeline with one Sync: the server
    // runs them in order and skips the rest after an error, so a failed statement commits
    // nothing (its transaction is left aborted, and the caller's guard rolls it back).
    // A read's only statement needs neither: it runs in the implicit transaction that the
    // Sync ends, one statement with one snapshot, read-only by the session's default (set
    // in Connect). That spares the server two statements to parse, plan and run, and the
    // reader the COMMIT's round trip. A write keeps its BEGIN: it must say READ WRITE.
    const bool alone = !began_ && commit && !write_ && queued_.empty() && q != nullptr;
    const bool with_begin = !began_ && !alone;
    const bool with_commit = commit && !alone;
    if (PQenterPipelineMode(pg) != 1) return PgError(pg, nullptr, "pipeline mode");
    bool sent = true;
    if (with_begin) sent = PQsendQueryParams(pg, begin_, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    std::vector<const char*> queued_values;
    for (size_t i = 0; i < queued_.size() && sent; ++i) {
      const Queued& w = queued_[i];
      queued_values.resize(w.texts.size());
      for (size_t k = 0; k < w.texts.size(); ++k)
        queued_values[k] = w.is_null[k] ? nullptr : w.texts[k].c_str();
      sent = PQsendQueryPrepared(pg, queued_prepared[i]->stmt_name.c_str(), static_cast<int>(w.texts.size()),
                                 queued_values.data(), nullptr, nullptr, 0) == 1;
    }
    if (p != nullptr)
      sent =
          sent && PQsendQueryPrepared(pg, p->stmt_name.c_str(), n, values.data(), nullptr, nullptr, 0) == 1;
    if (with_commit)
      sent = sent && PQsendQueryParams(pg, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    sent = sent && PQpipelineSync(pg) == 1;
    std::vector<ResultPtr> results;
    bool synced = false;
    if (sent) {
      // One result per query (each followed by a null), then the Sync's.
      for (int nulls = 0; nulls < 2;) {
        ResultPtr r(PQgetResult(pg));
        if (!r) {
          if (PQstatus(pg) != CONNECTION_OK) break;
          ++nulls;
          continue;
        }
        nulls = 0;
        if (PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) {
          synced = true;
          break;
        }
        results.push_back(std::move(r));
      }
    }
    const size_t expected =
        (with_begin ? 1 : 0) + queued_.size() + (p != nullptr ? 1 : 0) + (with_commit ? 1 : 0);
    if (!synced || results.size() != expected || PQexitPipelineMode(pg) != 1) {
      // Lost track of the session (or lost the session): it cannot be reused.
      Error e = PgError(pg, nullptr, q != nullptr ? q->name : "commit");
      if (e.code != ErrorCode::kUnavailable) e = Unavailable(e.internal);
      conn_.Close();
      return e;
    }
    size_t at = 0;
    if (with_begin) {
      if (!ResultOk(results[at].get())) return PgError(pg, results[at].get(), "begin");
      began_ = true;
      ++at;
    }
    for (const Queued& w : queued_) {
      const PGresult* done = results[at++].get();
      if (ResultOk(done)) continue;
      const char* state = PQresultErrorField(done, PG_DIAG_SQLSTATE);
      if (w.expect && state != nullptr && std::strcmp(state, "22012") == 0) return w.expect->mismatch;
      return StatementError(done, w.query.name);
    }
    ResultPtr stmt;
    if (p != nullptr) {
      stmt = std::move(results[at++]);
      if (!ResultOk(stmt.get())) return StatementError(stmt.get(), q->name);
    }
    if (alone) {
      committed_ = true;  // the Sync ended its implicit transaction
    } else if (commit) {
      const PGresult* done = results[at].get();
      if (!ResultOk(done)) return PgError(pg, done, "commit");
      if (std::strcmp(PQcmdStatus(const_cast<PGresult*>(done)), "ROLLBACK") == 0) {
        // An earlier statement failed and fn carried on: the server rolled everything back.
        return Internal("postgres: transaction was aborted by an earlier error and rolled back");
      }
      committed_ = true;
    }
    return stmt;
  }

  static Result<void> CheckParams(const Query& q, const Prepared* p, size_t n) {
    if (static_cast<int>(n) != p->n_params) {
      return Internal(std::string("wrong number of parameters (") + std::to_string(n) + " for " +
                      std::to_string(p->n_params) + "): " + q.name);
    }
    return Ok();
  }

  Error StatementError(const PGresult* res, const char* name) {
    Error e = PgError(conn_.pg, res, name);
    // After DDL changed a table's shape the server refuses the old plan; prepare anew
    // next time (the old server-side statement goes with the session).
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    if (state != nullptr && std::strcmp(state, "0A000") == 0) conn_.cache.erase(std::string(name));
    return e;
  }

  static Rows ToRows(PGresult* res) {
    Rows out;
    int ncol = PQnfields(res);
    int nrow = PQntuples(res);
    out.columns.reserve(ncol);
    std::vector<Oid> types(ncol);
    for (int c = 0; c < ncol; ++c) {
      out.columns.emplace_back(PQfname(res, c));
      types[c] = PQftype(res, c);
    }
    out.rows.reserve(nrow);
    for (int r = 0; r < nrow; ++r) {
      std::vector<Value> row;
      row.reserve(ncol);
      for (int c = 0; c < ncol; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back(std::monostate{});
        } else {
          row.push_back(FromText(types[c], PQgetvalue(res, r, c), PQgetlength(res, r, c)));
        }
      }
      out.rows.emplace_back(std::move(row));
    }
    if (IsRowCountTag(PQcmdStatus(res))) {
      const char* n = PQcmdTuples(res);
      std::from_chars(n, n + std::strlen(n), out.affected);
    }
    return out;
  }

  // checked: the statement wrapped so that it fails (division by zero) unless it changed
  // as many rows as its one extra, last parameter says (Queue's Expect). The failure
  // aborts the transaction on the server, so a COMMIT in the same pipeline does not commit.
  Result<Prepared*> Prepare(const Query& q, bool checked = false) {
    const char* sql = q.pg_sql != nullptr ? q.pg_sql : q.sql;
    std::string checked_key;
    std::string_view key = q.name;
    if (checked) {
      checked_key = std::string(q.name).append(kCheckedSuffix);
      key = checked_key;
    }
    auto it = conn_.cache.find(key);
    if (it != conn_.cache.end()) {
      if (it->second.sql != sql && std::strcmp(it->second.sql, sql) != 0) {
        return Internal(std::string("query name used for two different statements: ") + q.name);
      }
      return &it->second;
    }
    Prepared p;
    p.stmt_name = "s" + std::to_string(++conn_.next_stmt);
    p.sql = sql;
    std::string text;
    if (checked) {
      // The highest placeholder of ours: statements quote no '$'.
      int highest = 0;
      for (const char* c = std::strchr(sql, '$'); c != nullptr; c = std::strchr(c + 1, '$')) {
        int n = 0;
        std::from_chars(c + 1, sql + std::strlen(sql), n);
        highest = std::max(highest, n);
      }
      text = std::string("WITH hutong_checked AS (") + sql +
             (std::strstr(sql, "RETURNING") != nullptr ? "" : " RETURNING 1") +
             ") SELECT 1 / CAST(count(*) = CAST($" + std::to_string(highest + 1) +
             " AS BIGINT) AS INT) FROM hutong_checked";
    }
    ResultPtr res(PQprepare(conn_.pg, p.stmt_name.c_str(), checked ? text.c_str() : sql, 0, nullptr));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) return PgError(conn_.pg, res.get(), q.name);
    // One more round trip, once per connection, so that a wrong parameter count is a clear
    // error of ours rather than a protocol error from the server.
    ResultPtr desc(PQdescribePrepared(conn_.pg, p.stmt_name.c_str()));
    if (!desc || PQresultStatus(desc.get()) != PGRES_COMMAND_OK) return PgError(conn_.pg, desc.get(), q.name);
    p.n_params = PQnparams(desc.get());
    return &conn_.cache.emplace(std::string(key), std::move(p)).first->second;
  }

  Conn& conn_;
  const bool write_;
  const char* const begin_;
  const std::function<Status()> reconnect_;
  bool began_ = false;
  bool committed_ = false;
  std::vector<Queued> queued_;  // sent with the next statement or the COMMIT
};

}  // namespace
}  // namespace pg_internal

using pg_internal::Conn;

std::string PgTarget::Redact(std::string msg) const {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t at = msg.find(secret); at != std::string::npos; at = msg.find(secret, at + 3)) {
      msg.replace(at, secret.size(), "***");
    }
  }
  return msg;
}

namespace pg_internal {
namespace {

// The password in "scheme://user:password@host...", as written, or empty.
std::string UserinfoPassword(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?"));
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view userinfo = authority.substr(0, at);
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) return {};
  return std::string(userinfo.substr(colon + 1));
}

}  // namespace
}  // namespace pg_internal

Result<PgTarget> ParsePgTarget(const std::string& url, const std::string& default_schema) {
  PgTarget t;
  t.schema = default_schema;
  t.secrets.push_back(pg_internal::UserinfoPassword(url));
  // Drop our own `schema` parameter: libpq rejects parameters it does not know.
  size_t q = url.find('?');
  t.conninfo = url.substr(0, q);
  if (q != std::string::npos) {
    std::string kept;
    std::string_view rest = std::string_view(url).substr(q + 1);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view param = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (param.empty()) continue;
      if (param.starts_with("schema=")) {
        t.schema = std::string(param.substr(7));
        continue;
      }
      if (param.starts_with("password=")) t.secrets.emplace_back(param.substr(9));
      kept += kept.empty() ? "" : "&";
      kept += param;
    }
    if (!kept.empty()) t.conninfo += "?" + kept;
  }
  if (!pg_internal::ValidSchemaName(t.schema)) {
    return Error(ErrorCode::kValidationFailed, "invalid PostgreSQL schema name",
                 "postgres: schema must match [a-z_][a-z0-9_]* (at most 63 characters)");
  }

  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(t.conninfo.c_str(), &err);
  if (opts == nullptr) {
    // libpq's message may quote the whole URL, password included.
    std::string msg = pg_internal::TrimMessage(err);
    PQfreemem(err);
    return Error(ErrorCode::kValidationFailed, "invalid PostgreSQL URL", "postgres: " + t.Redact(msg));
  }
  std::string user, host, port, dbname;
  bool has_timeout = false, has_app = false;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view k = o->keyword;
    if (k == "user")
      user = o->val;
    else if (k == "host")
      host = o->val;
    else if (k == "hostaddr" && host.empty())
      host = o->val;
    else if (k == "port")
      port = o->val;
    else if (k == "dbname")
      dbname = o->val;
    else if (k == "connect_timeout")
      has_timeout = true;
    else if (k == "application_name")
      has_app = true;
  }
  PQconninfoFree(opts);

  char sep = t.conninfo.find('?') == std::string::npos ? '?' : '&';
  if (!has_timeout) {
    t.conninfo += sep + std::string("connect_timeout=") + pg_internal::kDefaultConnectTimeout;
    sep = '&';
  }
  if (!has_app) t.conninfo += sep + std::string("application_name=hutong");

  t.description = "postgresql://";
  if (!user.empty()) t.description += user + "@";
  t.description += host;
  if (!port.empty()) t.description += ":" + port;
  t.description += "/" + dbname + "?schema=" + t.schema;
  return t;
}

PgDb::PgDb(PgTarget target, size_t pool_size) : target_(std::move(target)) {
  if (pool_size == 0) pool_size = 1;
  for (size_t i = 0; i < pool_size; ++i) {
    slots_.push_back(std::make_unique<Conn>());
    free_.push_back(slots_.back().get());
  }
}

PgDb::~PgDb() = default;

Result<std::unique_ptr<PgDb>> PgDb::Open(const std::string& url, const DbOptions& options) {
  ASSIGN_OR_RETURN(PgTarget target, ParsePgTarget(url, options.default_schema));
  std::unique_ptr<PgDb> db(new PgDb(std::move(target), options.pool_size));
  // Fail now, not at the first request, when the server is unreachable.
  ASSIGN_OR_RETURN(Conn * conn, db->CheckOut());
  db->CheckIn(conn);
  return db;
}

Status PgDb::Connect(Conn& conn) {
  conn.Close();
  conn.pg = PQconnectdb(target_.conninfo.c_str());
  if (conn.pg == nullptr) return pg_internal::Unavailable("postgres: out of memory connecting");
  if (PQstatus(conn.pg) != CONNECTION_OK) {
    std::string msg = pg_internal::TrimMessage(PQerrorMessage(conn.pg));
    conn.Close();
    return pg_internal::Unavailable("postgres: cannot connect to " + target_.description + ": " +
                                    target_.Redact(msg));
  }
  PQsetNoticeProcessor(conn.pg, pg_internal::DiscardNotice, nullptr);

  // Look before creating: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the
  // database even when the schema is there.
  const char* params[] = {target_.schema.c_str()};
  pg_internal::ResultPtr found(PQexecParams(conn.pg, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1,
                                            nullptr, params, nullptr, nullptr, 0));
  if (!found || PQresultStatus(found.get()) != PGRES_TUPLES_OK) {
    Error e = pg_internal::PgError(conn.pg, found.get(), "look up schema");
    conn.Close();
    return e;
  }
  if (PQntuples(found.get()) == 0) {
    std::string create = "CREATE SCHEMA IF NOT EXISTS " + target_.schema;
    pg_internal::ResultPtr res(PQexec(conn.pg, create.c_str()));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      // Two sessions creating it at once: the loser trips over the catalog's unique index.
      const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
      bool raced = state != nullptr && (std::strcmp(state, "23505") == 0 || std::strcmp(state, "42P06") == 0);
      if (!raced) {
        Error e = pg_internal::PgError(conn.pg, res.get(), "create schema");
        conn.Close();
        return e;
      }
    }
  }
  // The schema name was validated, so it can be spliced in. Transactions are read-only
  // unless they begin READ WRITE (as every write transaction does): a read's only statement
  // runs without BEGIN (PgTx::Attempt), and the server still refuses a write mislabelled
  // as a read there.
  std::string setup = "SET client_encoding TO 'UTF8'; SET TimeZone TO 'UTC'; SET search_path TO " +
                      target_.schema + "; SET default_transaction_read_only TO on";
  auto set = pg_internal::Simple(conn.pg, setup.c_str(), "session setup");
  if (!set.ok()) {
    conn.Close();
    return std::move(set).error();
  }
  return Ok();
}

Result<Conn*> PgDb::CheckOut() {
  Conn* conn = nullptr;
  {
    std::unique_lock lock(pool_mu_);
    if (!pool_cv_.wait_for(lock, pg_internal::kCheckOutTimeout, [&] { return !free_.empty(); })) {
      return pg_internal::Unavailable("postgres: no free connection in the pool for " + target_.description);
    }
    conn = free_.back();
    free_.pop_back();
  }
  if (!conn->Connected()) {
    Status s = Connect(*conn);
    if (!s.ok()) {
      CheckIn(conn);
      return std::move(s).error();
    }
  }
  return conn;
}

void PgDb::CheckIn(Conn* conn) {
  // A session left inside a transaction or broken is of no use to the next caller.
  if (conn->pg != nullptr && (!conn->Connected() || PQtransactionStatus(conn->pg) != PQTRANS_IDLE)) {
    conn->Close();
  }
  {
    std::lock_guard lock(pool_mu_);
    if (conn->pg != nullptr)
      free_.push_back(conn);
    else
      free_.insert(free_.begin(), conn);
  }
  pool_cv_.notify_one();
}

Status PgDb::RunTransaction(bool write, const std::function<Status(Tx&)>& fn) {
  ASSIGN_OR_RETURN(Conn * conn, CheckOut());
  struct CheckInGuard {
    PgDb* db;
    Conn* conn;
    ~CheckInGuard() { db->CheckIn(conn); }
  } check_in{this, conn};

  struct RollbackGuard {
    Conn* conn;
    ~RollbackGuard() {
      if (conn->pg == nullptr || PQtransactionStatus(conn->pg) == PQTRANS_IDLE) return;
      pg_internal::ResultPtr res(PQexec(conn->pg, "ROLLBACK"));
      if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) conn->Close();
    }
  } rollback{conn};

  const char* begin = write ? "BEGIN READ WRITE" : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
  pg_internal::PgTx tx(*conn, write, begin, [this, conn] { return Connect(*conn); });
  Status s = fn(tx);
  if (!s.ok()) {
    if (tx.committed()) {
      // A programmer error: ExecLast promised that nothing would follow it.
      LogError("postgres: transaction failed after its last statement had committed",
               {{"error", s.error().internal.empty() ? s.error().detail : s.error().internal}});
    }
    return s;
  }
  if (tx.has_queued()) return tx.CommitQueued();   // what is queued goes with the COMMIT
  if (tx.committed() || !tx.began()) return Ok();  // committed with the last statement, or nothing ran
  ASSIGN_OR_RETURN(pg_internal::ResultPtr done, pg_internal::Simple(conn->pg, "COMMIT", "commit"));
  if (std::strcmp(PQcmdStatus(done.get()), "ROLLBACK") == 0) {
    // fn ignored a failed statement; the server already rolled everything back.
    return Internal("postgres: transaction was aborted by an earlier error and rolled back");
  }
  return Ok();
}

Status PgDb::WithRead(const std::function<Status(Tx&)>& fn) {
  return RunTransaction(false, fn);
}
Status PgDb::WithWrite(const std::function<Status(Tx&)>& fn) {
  return RunTransaction(true, fn);
}

Status PgDb::Ping() {
  static constexpr Query kPing{"postgres.ping", Access::kRead, "SELECT 1"};
  return WithRead([](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Rows rows, tx.ExecLast(kPing));
    if (rows.size() != 1) return Internal("postgres: ping returned no row");
    return Ok();
  });
}

}  // namespace hutong::storage
