// The same storage cases on SQLite (a fresh file per test) and PostgreSQL (a fresh schema per
// test on the server named by HUTONG_TEST_PG_URL, which `make test` provides).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/random.h"
#include "storage/db.h"
#include "storage/postgres/pg_db.h"

namespace hutong::storage {
namespace {

constexpr const char* kNoPgUrl =
    "HUTONG_TEST_PG_URL is not set, so the PostgreSQL cases cannot run. Run them via `make test` "
    "or `bash scripts/with-postgres.sh ./build/storage_test` (it starts a throwaway server).";

// The server URL, or empty when the environment names none.
std::string PgBaseUrl() {
  const char* url = std::getenv("HUTONG_TEST_PG_URL");
  return url != nullptr ? url : "";
}

std::string WithParam(const std::string& url, const std::string& param) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
}

// A fresh database file in a folder that does not exist yet (OpenDb must create it).
struct SqliteBackend {
  static constexpr Dialect kDialect = Dialect::kSqlite;
  std::filesystem::path dir;
  std::string target;

  bool Prepare(std::string&) {
    dir = std::filesystem::temp_directory_path() / ("hutong-storage-" + RandomHex(8));
    target = "sqlite:" + (dir / "nested" / "test.db").string();
    return true;
  }
  void Cleanup() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// A fresh schema on the test server, dropped at the end.
struct PgBackend {
  static constexpr Dialect kDialect = Dialect::kPostgres;
  std::string base;
  std::string schema;
  std::string target;

  bool Prepare(std::string& why) {
    base = PgBaseUrl();
    if (base.empty()) {
      why = kNoPgUrl;
      return false;
    }
    schema = "t_" + RandomHex(8);
    target = WithParam(base, "schema=" + schema);
    return true;
  }
  void Cleanup() {
    if (schema.empty()) return;
    auto admin = OpenDb(base, DbOptions{.pool_size = 1});
    ASSERT_TRUE(admin.ok()) << admin.error().internal;
    Status dropped = (*admin)->WithWrite(
        [&](Tx& tx) { return tx.ExecScript("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); });
    EXPECT_TRUE(dropped.ok()) << dropped.error().internal;
  }
};

struct BackendNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kDialect == Dialect::kSqlite ? "Sqlite" : "Postgres";
  }
};

// Tables for the cases. Version 5 seeds a row, so applying it twice would show.
const std::vector<Migration> kMigrations = {
    {1, "items", "CREATE TABLE items (id TEXT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, n TEXT)"},
    {2, "stock",
     "CREATE TABLE stock (id TEXT PRIMARY KEY, remaining BIGINT NOT NULL CHECK (remaining >= 0))"},
    {3, "kv", "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)"},
    {4, "parents and children",
     "CREATE TABLE parents (id TEXT PRIMARY KEY);"
     "CREATE TABLE children (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parents (id))"},
    {5, "seed", "INSERT INTO kv (k, v) VALUES ('seed', 1)"},
    // Where the dialects really differ.
    {6, "events", "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
     "CREATE TABLE events (seq BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)"},
};

constexpr Query kInsertItem{"test.insert_item", Access::kWrite,
                            "INSERT INTO items (id, i, d, s, n) VALUES ($1, $2, $3, $4, $5)"};
constexpr Query kGetItem{"test.get_item", Access::kRead, "SELECT id, i, d, s, n FROM items WHERE id = $1"};
constexpr Query kCountItems{"test.count_items", Access::kRead, "SELECT COUNT(*) FROM items"};
constexpr Query kPutKv{"test.put_kv", Access::kWrite, "INSERT INTO kv (k, v) VALUES ($1, $2)"};
constexpr Query kGetKv{"test.get_kv", Access::kRead, "SELECT v FROM kv WHERE k = $1"};
constexpr Query kCountKv{"test.count_kv", Access::kRead, "SELECT COUNT(*) FROM kv WHERE k = $1"};

template <typename B>
class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(backend_.Prepare(why)) << why;
    db_ = Open();
    ASSERT_NE(db_, nullptr);
  }
  void TearDown() override {
    db_.reset();
    backend_.Cleanup();
  }

  // Another handle on the same database, as a second process would have.
  std::unique_ptr<Db> Open() {
    auto db = OpenDb(backend_.target, DbOptions{});
    EXPECT_TRUE(db.ok()) << db.error().internal;
    return db.ok() ? std::move(*db) : nullptr;
  }
  void MigrateAll() {
    auto n = Migrate(*db_, kMigrations);
    ASSERT_TRUE(n.ok()) << n.error().internal;
  }
  int64_t Count(const Query& q, std::vector<Value> params = {}) {
    auto n = db_->Read([&](Tx& tx) -> Result<int64_t> {
      ASSIGN_OR_RETURN(Rows rows, tx.Exec(q, params));
      return rows[0].Int(0);
    });
    EXPECT_TRUE(n.ok()) << n.error().internal;
    return n.ok() ? *n : -1;
  }

  B backend_;
  std::unique_ptr<Db> db_;
};

using Backends = ::testing::Types<SqliteBackend, PgBackend>;
TYPED_TEST_SUITE(StorageTest, Backends, BackendNames);

TYPED_TEST(StorageTest, OpensTheRightDialectAndPings) {
  EXPECT_EQ(this->db_->dialect(), TypeParam::kDialect);
  Status ping = this->db_->Ping();
  EXPECT_TRUE(ping.ok()) << ping.error().internal;
}

TYPED_TEST(StorageTest, MigrationsApplyOnceAndAreIdempotent) {
  auto first = Migrate(*this->db_, kMigrations);
  ASSERT_TRUE(first.ok()) << first.error().internal;
  EXPECT_EQ(*first, 6);
  auto second = Migrate(*this->db_, kMigrations);
  ASSERT_TRUE(second.ok()) << second.error().internal;
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(this->Count(kCountKv, {std::string("seed")}), 1);

  constexpr Query kNames{"test.migration_names", Access::kRead,
                         "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"};
  auto rows = this->db_->Read([&](Tx& tx) { return tx.Exec(kNames); });
  ASSERT_TRUE(rows.ok()) << rows.error().internal;
  ASSERT_EQ(rows->size(), 6u);
  EXPECT_EQ((*rows)[0].Int(0), 1);
  EXPECT_EQ((*rows)[0].Str(1), "items");
  EXPECT_GT((*rows)[5].Int(2), 1'600'000'000'000);

  // A later release adds one more.
  std::vector<Migration> more = kMigrations;
  more.push_back({7, "kv index", "CREATE INDEX kv_by_v ON kv (v)"});
  auto third = Migrate(*this->db_, more);
  ASSERT_TRUE(third.ok()) << third.error().internal;
  EXPECT_EQ(*third, 1);
}

TYPED_TEST(StorageTest, FailedMigrationRollsBackAndStops) {
  std::vector<Migration> broken = {
      {1, "ok", "CREATE TABLE a (id TEXT PRIMARY KEY)"},
      {2, "half broken", "CREATE TABLE b (id TEXT PRIMARY KEY); CREATE TABLE oops ("},
      {3, "never reached", "CREATE TABLE c (id TEXT PRIMARY KEY)"},
  };
  auto n = Migrate(*this->db_, broken);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ErrorCode::kInternal);
  EXPECT_NE(n.error().internal.find("half broken"), std::string::npos) << n.error().internal;
  constexpr Query kVersions{"test.versions", Access::kRead, "SELECT COUNT(*) FROM schema_migrations"};
  EXPECT_EQ(this->Count(kVersions), 1);
  // Table b was created inside the failed transaction and must be gone, DDL included.
  broken[1].sql = "CREATE TABLE b (id TEXT PRIMARY KEY)";
  auto retry = Migrate(*this->db_, broken);
  ASSERT_TRUE(retry.ok()) << retry.error().internal;
  EXPECT_EQ(*retry, 2);
}

TYPED_TEST(StorageTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  // Two handles (as two processes would have), two threads on each.
  std::unique_ptr<Db> other = this->Open();
  ASSERT_NE(other, nullptr);
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    Db* db = i % 2 == 0 ? this->db_.get() : other.get();
    threads.emplace_back([&, db] {
      auto n = Migrate(*db, kMigrations);
      if (n.ok())
        applied += *n;
      else {
        ++failures;
        ADD_FAILURE() << n.error().internal;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), 6);
  EXPECT_EQ(this->Count(kCountKv, {std::string("seed")}), 1);
}

TYPED_TEST(StorageTest, RoundTripsEveryValueType) {
  this->MigrateAll();
  const std::string chinese = "新年好食记 · 湊湊火锅（朝阳大悦城店）🍲";
  struct Case {
    std::string id;
    Value i, d, s, n;
  };
  std::vector<Case> cases = {
      {"max", std::numeric_limits<int64_t>::max(), 3.141592653589793, chinese, Null()},
      {"min", std::numeric_limits<int64_t>::min(), -1e-300, std::string(""), std::string("not null")},
      {"zero", int64_t{0}, 0.1 + 0.2, std::string("it's \"quoted\" \\ and; DROP TABLE items"), Null()},
      {"nulls", Null(), Null(), Null(), Null()},
      {"big double", int64_t{9'007'199'254'740'993}, 1.7976931348623157e308, std::string("x"), Null()},
  };
  Status wrote = this->db_->WithWrite([&](Tx& tx) -> Status {
    for (const Case& c : cases) {
      ASSIGN_OR_RETURN(Rows r, tx.Exec(kInsertItem, {c.id, c.i, c.d, c.s, c.n}));
      EXPECT_EQ(r.affected, 1);
    }
    return Ok();
  });
  ASSERT_TRUE(wrote.ok()) << wrote.error().internal;

  for (const Case& c : cases) {
    auto rows = this->db_->Read([&](Tx& tx) { return tx.Exec(kGetItem, {c.id}); });
    ASSERT_TRUE(rows.ok()) << rows.error().internal;
    ASSERT_EQ(rows->size(), 1u) << c.id;
    const Row& row = (*rows)[0];
    EXPECT_EQ(rows->columns, (std::vector<std::string>{"id", "i", "d", "s", "n"}));
    EXPECT_EQ(row.Str(0), c.id);
    EXPECT_EQ(row.at(1), c.i) << c.id;
    EXPECT_EQ(row.at(2), c.d) << c.id;
    EXPECT_EQ(row.at(3), c.s) << c.id;
    EXPECT_EQ(row.at(4), c.n) << c.id;
  }
  auto rows = this->db_->Read([&](Tx& tx) { return tx.Exec(kGetItem, {std::string("max")}); });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Str(3), chinese);
  EXPECT_EQ((*rows)[0].Str(3).size(), chinese.size());
  EXPECT_TRUE((*rows)[0].IsNull(4));
  EXPECT_EQ((*rows)[0].OptStr(4), std::nullopt);
  EXPECT_EQ((*rows)[0].OptInt(1), std::numeric_limits<int64_t>::max());

  // Chinese text also works as a key and inside a LIKE pattern.
  constexpr Query kLike{"test.like", Access::kRead, "SELECT id FROM items WHERE s LIKE $1"};
  auto found = this->db_->Read([&](Tx& tx) { return tx.Exec(kLike, {std::string("%湊湊火锅%")}); });
  ASSERT_TRUE(found.ok()) << found.error().internal;
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].Str(0), "max");
}

TYPED_TEST(StorageTest, AggregatesComeBackAsNumbers) {
  this->MigrateAll();
  Status wrote = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("a"), int64_t{4'000'000'000'000}}));
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("b"), int64_t{3}}));
    return Ok();
  });
  ASSERT_TRUE(wrote.ok()) << wrote.error().internal;
  // SUM(bigint) is numeric on PostgreSQL, AVG a fraction on both, COUNT an integer.
  constexpr Query kAgg{"test.aggregates", Access::kRead,
                       "SELECT SUM(v), COUNT(*), AVG(v * 1.0), MAX(k) FROM kv WHERE k IN ('a', 'b')"};
  auto rows = this->db_->Read([&](Tx& tx) { return tx.Exec(kAgg); });
  ASSERT_TRUE(rows.ok()) << rows.error().internal;
  const Row& row = (*rows)[0];
  EXPECT_EQ(row.at(0), Value(int64_t{4'000'000'000'003}));
  EXPECT_EQ(row.at(1), Value(int64_t{2}));
  EXPECT_DOUBLE_EQ(row.Double(2), 2'000'000'000'001.5);
  EXPECT_EQ(row.Str(3), "b");
}

TYPED_TEST(StorageTest, SamePlaceholderUsedTwice) {
  this->MigrateAll();
  constexpr Query kInsert{"test.insert_twice", Access::kWrite,
                          "INSERT INTO items (id, s, n) VALUES ($1, $2, $2)"};
  constexpr Query kFind{"test.find_twice", Access::kRead, "SELECT id FROM items WHERE s = $1 AND n = $1"};
  Status wrote = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kInsert, {std::string("one"), std::string("火锅")}));
    return Ok();
  });
  ASSERT_TRUE(wrote.ok()) << wrote.error().internal;
  auto rows = this->db_->Read([&](Tx& tx) { return tx.Exec(kFind, {std::string("火锅")}); });
  ASSERT_TRUE(rows.ok()) << rows.error().internal;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Str(0), "one");
}

TYPED_TEST(StorageTest, ReturningGivesTheWrittenRows) {
  this->MigrateAll();
  constexpr Query kInsert{"test.insert_returning", Access::kWrite,
                          "INSERT INTO kv (k, v) VALUES ($1, $2) RETURNING k, v"};
  constexpr Query kBump{"test.bump_returning", Access::kWrite,
                        "UPDATE kv SET v = v + 10 WHERE k = $1 RETURNING v"};
  constexpr Query kEvent{"test.insert_event", Access::kWrite,
                         "INSERT INTO events (body) VALUES ($1) RETURNING seq"};
  auto out = this->db_->Write([&](Tx& tx) -> Result<std::vector<Rows>> {
    std::vector<Rows> all;
    ASSIGN_OR_RETURN(Rows a, tx.Exec(kInsert, {std::string("k1"), int64_t{7}}));
    all.push_back(std::move(a));
    ASSIGN_OR_RETURN(Rows b, tx.Exec(kBump, {std::string("k1")}));
    all.push_back(std::move(b));
    ASSIGN_OR_RETURN(Rows c, tx.Exec(kEvent, {std::string("first")}));
    all.push_back(std::move(c));
    ASSIGN_OR_RETURN(Rows d, tx.Exec(kEvent, {std::string("second")}));
    all.push_back(std::move(d));
    return all;
  });
  ASSERT_TRUE(out.ok()) << out.error().internal;
  const auto& all = *out;
  ASSERT_EQ(all[0].size(), 1u);
  EXPECT_EQ(all[0].columns, (std::vector<std::string>{"k", "v"}));
  EXPECT_EQ(all[0][0].Str(0), "k1");
  EXPECT_EQ(all[0][0].Int(1), 7);
  EXPECT_EQ(all[0].affected, 1);
  EXPECT_EQ(all[1][0].Int(0), 17);
  EXPECT_EQ(all[1].affected, 1);
  EXPECT_EQ(all[2][0].Int(0), 1);
  EXPECT_EQ(all[3][0].Int(0), 2);
}

TYPED_TEST(StorageTest, OnConflictDoUpdate) {
  this->MigrateAll();
  constexpr Query kUpsert{
      "test.upsert", Access::kWrite,
      "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v "
      "RETURNING v"};
  const std::vector<std::pair<int64_t, int64_t>> adds = {{5, 5}, {7, 12}, {30, 42}};
  for (const auto& step : adds) {
    const int64_t add = step.first;
    auto v = this->db_->Write([&](Tx& tx) -> Result<int64_t> {
      ASSIGN_OR_RETURN(Rows rows, tx.Exec(kUpsert, {std::string("counter"), add}));
      return rows[0].Int(0);
    });
    ASSERT_TRUE(v.ok()) << v.error().internal;
    EXPECT_EQ(*v, step.second);
  }
  EXPECT_EQ(this->Count(kCountKv, {std::string("counter")}), 1);
}

TYPED_TEST(StorageTest, RollsBackWhenTheFunctionFails) {
  this->MigrateAll();
  Status s = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("ghost"), int64_t{1}}));
    RETURN_IF_ERROR(tx.Exec(kInsertItem, {std::string("ghost"), int64_t{1}, 1.0, std::string("x"), Null()}));
    return Error(ErrorCode::kOutOfStock, "sold out");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kOutOfStock);  // the caller's own error, unchanged
  EXPECT_EQ(s.error().detail, "sold out");
  EXPECT_EQ(this->Count(kCountKv, {std::string("ghost")}), 0);
  EXPECT_EQ(this->Count(kCountItems), 0);

  // Same through the Result-returning helper.
  auto r = this->db_->Write([&](Tx& tx) -> Result<int> {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("ghost"), int64_t{2}}));
    return NotFound("no such thing");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(this->Count(kCountKv, {std::string("ghost")}), 0);

  // An exception (a bug) also rolls back and leaves the Db usable.
  auto buggy = [&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("ghost"), int64_t{3}}));
    throw std::runtime_error("bug");
  };
  EXPECT_THROW((void)this->db_->WithWrite(buggy), std::runtime_error);
  EXPECT_EQ(this->Count(kCountKv, {std::string("ghost")}), 0);
  Status ok = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("real"), int64_t{4}}));
    return Ok();
  });
  EXPECT_TRUE(ok.ok()) << ok.error().internal;
  EXPECT_EQ(this->Count(kCountKv, {std::string("real")}), 1);
}

TYPED_TEST(StorageTest, ConstraintViolationsAreConflicts) {
  this->MigrateAll();
  auto put = [&](const std::string& k) {
    return this->db_->WithWrite([&](Tx& tx) -> Status {
      RETURN_IF_ERROR(tx.Exec(kPutKv, {k, int64_t{1}}));
      return Ok();
    });
  };
  ASSERT_TRUE(put("dup").ok());
  Status s = put("dup");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_EQ(s.error().detail, "conflict");
  EXPECT_NE(s.error().internal.find("test.put_kv"), std::string::npos) << s.error().internal;

  // Foreign keys are enforced (SQLite needs foreign_keys=ON for that).
  constexpr Query kChild{"test.insert_child", Access::kWrite,
                         "INSERT INTO children (id, parent_id) VALUES ($1, $2)"};
  Status fk = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kChild, {std::string("c1"), std::string("no such parent")}));
    return Ok();
  });
  ASSERT_FALSE(fk.ok());
  EXPECT_EQ(fk.error().code, ErrorCode::kConflict) << fk.error().internal;

  // CHECK constraints too.
  constexpr Query kNegative{"test.negative_stock", Access::kWrite,
                            "INSERT INTO stock (id, remaining) VALUES ($1, -1)"};
  Status check = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kNegative, {std::string("s")}));
    return Ok();
  });
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error().code, ErrorCode::kConflict);

  // The connection is fine afterwards.
  EXPECT_TRUE(put("after").ok());
  EXPECT_EQ(this->Count(kCountKv, {std::string("dup")}), 1);
}

// On PostgreSQL BEGIN travels with the first statement: a transaction that runs none sends
// nothing, and the one after it still begins and commits normally.
TYPED_TEST(StorageTest, TransactionsWithoutStatementsSucceed) {
  this->MigrateAll();
  EXPECT_TRUE(this->db_->WithWrite([](Tx&) -> Status { return Ok(); }).ok());
  EXPECT_TRUE(this->db_->WithRead([](Tx&) -> Status { return Ok(); }).ok());
  Status failed = this->db_->WithWrite([](Tx&) -> Status { return Error(ErrorCode::kConflict, "no"); });
  EXPECT_EQ(failed.error().code, ErrorCode::kConflict);
  Status put = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("after-empty"), int64_t{1}}));
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("after-empty-2"), int64_t{2}}));
    return Ok();
  });
  ASSERT_TRUE(put.ok()) << put.error().internal;
  EXPECT_EQ(this->Count(kCountKv, {std::string("after-empty")}), 1);
  EXPECT_EQ(this->Count(kCountKv, {std::string("after-empty-2")}), 1);
}

// ExecLast may carry the COMMIT (PostgreSQL pipelines it with the statement): what ran
// before it is committed with it, and when it fails nothing of the transaction is.
TYPED_TEST(StorageTest, LastStatementCommitsTheWholeTransactionOrNothing) {
  this->MigrateAll();
  Status alone = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.ExecLast(kPutKv, {std::string("alone"), int64_t{1}}));
    return Ok();
  });
  ASSERT_TRUE(alone.ok()) << alone.error().internal;
  EXPECT_EQ(this->Count(kCountKv, {std::string("alone")}), 1);

  Status both = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("first"), int64_t{1}}));
    RETURN_IF_ERROR(tx.ExecLast(kPutKv, {std::string("second"), int64_t{2}}));
    return Ok();
  });
  ASSERT_TRUE(both.ok()) << both.error().internal;
  EXPECT_EQ(this->Count(kCountKv, {std::string("first")}), 1);
  EXPECT_EQ(this->Count(kCountKv, {std::string("second")}), 1);

  // The last statement violates the primary key: the first write goes too.
  Status failed = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("third"), int64_t{3}}));
    RETURN_IF_ERROR(tx.ExecLast(kPutKv, {std::string("alone"), int64_t{4}}));
    return Ok();
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kConflict);
  EXPECT_EQ(this->Count(kCountKv, {std::string("third")}), 0);
  auto v = this->db_->Read([&](Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Rows rows, tx.Exec(kGetKv, {std::string("alone")}));
    return rows[0].Int(0);
  });
  ASSERT_TRUE(v.ok()) << v.error().internal;
  EXPECT_EQ(*v, 1);

  // Failing as the first statement of its transaction (BEGIN rides with it on PostgreSQL).
  Status first_fails = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.ExecLast(kPutKv, {std::string("first"), int64_t{5}}));
    return Ok();
  });
  EXPECT_EQ(first_fails.error().code, ErrorCode::kConflict);

  // The pooled connections are fine afterwards.
  Status after = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("after"), int64_t{6}}));
    return Ok();
  });
  ASSERT_TRUE(after.ok()) << after.error().internal;
  EXPECT_EQ(this->Count(kCountKv, {std::string("after")}), 1);
}

// Queued statements (PostgreSQL: sent in the pipeline of the next statement or of the
// COMMIT) run in order before what follows them and commit with the transaction; one that
// fails, or changes another number of rows than expected, fails its transaction and
// nothing of it is kept, whether a statement, an ExecLast or only the COMMIT follows it.
TYPED_TEST(StorageTest, QueuedStatementsRunInOrderAndFailTheirTransaction) {
  this->MigrateAll();
  constexpr Query kBump{"test.queue_bump", Access::kWrite, "UPDATE kv SET v = v + $2 WHERE k = $1"};
  constexpr Query kBumpIfAbove{"test.queue_bump_if_above", Access::kWrite,
                               "UPDATE kv SET v = v + $2 WHERE k = $1 AND v + $2 >= 0"};
  auto value = [&](const std::string& k) {
    auto v = this->db_->Read([&](Tx& tx) -> Result<int64_t> {
      ASSIGN_OR_RETURN(Rows rows, tx.Exec(kGetKv, {k}));
      if (rows.empty()) return int64_t{-1};
      return rows[0].Int(0);
    });
    EXPECT_TRUE(v.ok()) << v.error().internal;
    return v.ok() ? *v : -2;
  };
  const auto short_of_money = [] { return Tx::Expect{1, Error(ErrorCode::kConflict, "short")}; };

  // Queued, then read back in the same transaction: the read sees them, in order.
  auto read_back = this->db_->Write([&](Tx& tx) -> Result<int64_t> {
    RETURN_IF_ERROR(tx.Queue(kPutKv, {std::string("q"), int64_t{1}}));
    RETURN_IF_ERROR(tx.Queue(kBump, {std::string("q"), int64_t{10}}));
    RETURN_IF_ERROR(tx.Queue(kBumpIfAbove, {std::string("q"), int64_t{-5}}, short_of_money()));
    ASSIGN_OR_RETURN(Rows rows, tx.Exec(kGetKv, {std::string("q")}));
    return rows[0].Int(0);
  });
  ASSERT_TRUE(read_back.ok()) << read_back.error().internal;
  EXPECT_EQ(*read_back, 6);
  EXPECT_EQ(value("q"), 6);

  // Only queued statements: they go with the COMMIT.
  Status only_queued = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Queue(kPutKv, {std::string("only"), int64_t{1}}));
    RETURN_IF_ERROR(tx.Queue(kBump, {std::string("q"), int64_t{1}}, Tx::Expect{1, Internal("no row")}));
    return Ok();
  });
  ASSERT_TRUE(only_queued.ok()) << only_queued.error().internal;
  EXPECT_EQ(value("only"), 1);
  EXPECT_EQ(value("q"), 7);

  // A queued statement that fails (the key exists): the statement after it does not run
  // and nothing is kept, with an ExecLast, an Exec or the COMMIT after it.
  for (int how = 0; how < 3; ++how) {
    Status failed = this->db_->WithWrite([&](Tx& tx) -> Status {
      RETURN_IF_ERROR(tx.Queue(kBump, {std::string("q"), int64_t{100}}));
      RETURN_IF_ERROR(tx.Queue(kPutKv, {std::string("only"), int64_t{2}}));
      if (how == 0) RETURN_IF_ERROR(tx.ExecLast(kPutKv, {std::string("after"), int64_t{1}}));
      if (how == 1) RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("after"), int64_t{1}}));
      return Ok();
    });
    ASSERT_FALSE(failed.ok()) << how;
    EXPECT_EQ(failed.error().code, ErrorCode::kConflict) << how;
    EXPECT_EQ(value("q"), 7) << how;
    EXPECT_EQ(value("after"), -1) << how;
  }

  // A queued statement that changes no row where one was expected: its error, and nothing
  // kept, even when the COMMIT was sent with it (ExecLast) or alone.
  for (int how = 0; how < 3; ++how) {
    Status refused = this->db_->WithWrite([&](Tx& tx) -> Status {
      RETURN_IF_ERROR(tx.Queue(kBump, {std::string("q"), int64_t{1}}));
      RETURN_IF_ERROR(tx.Queue(kBumpIfAbove, {std::string("q"), int64_t{-1000}}, short_of_money()));
      if (how == 0) RETURN_IF_ERROR(tx.ExecLast(kPutKv, {std::string("after"), int64_t{1}}));
      if (how == 1) RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("after"), int64_t{1}}));
      return Ok();
    });
    ASSERT_FALSE(refused.ok()) << how;
    EXPECT_EQ(refused.error().code, ErrorCode::kConflict) << how;
    EXPECT_EQ(refused.error().detail, "short") << how;
    EXPECT_EQ(value("q"), 7) << how;
    EXPECT_EQ(value("after"), -1) << how;
  }

  // A queued write in a read transaction is refused, and the pool is fine afterwards.
  Status in_read = this->db_->WithRead([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Queue(kPutKv, {std::string("read"), int64_t{1}}));
    return Ok();
  });
  EXPECT_FALSE(in_read.ok());
  EXPECT_EQ(value("read"), -1);
  Status after = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Queue(kPutKv, {std::string("after"), int64_t{2}}));
    return Ok();
  });
  ASSERT_TRUE(after.ok()) << after.error().internal;
  EXPECT_EQ(value("after"), 2);
}

// A read whose only statement is its last: PostgreSQL sends it with neither BEGIN nor
// COMMIT (one round trip). It reads committed data, a failure leaves the pooled session
// usable, a write mislabelled as a read is still refused by the database, and a read of
// several statements still begins a snapshot transaction after it on the same session.
TYPED_TEST(StorageTest, ReadOfOneLastStatement) {
  this->MigrateAll();
  auto one = this->Open();  // a pool of its own, so every step below reuses its sessions
  ASSERT_NE(one, nullptr);
  auto seed = one->Read([&](Tx& tx) { return tx.ExecLast(kGetKv, {std::string("seed")}); });
  ASSERT_TRUE(seed.ok()) << seed.error().internal;
  ASSERT_EQ(seed->size(), 1u);
  EXPECT_EQ((*seed)[0].Int(0), 1);

  // Fails while running, not while being prepared (SQLite divides by zero into NULL).
  constexpr Query kDivide{"test.divide", Access::kRead, "SELECT json('not json') FROM kv WHERE k = $1",
                          "SELECT 10 / v FROM kv WHERE k = $1"};
  Status zero = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.ExecLast(kPutKv, {std::string("zero"), int64_t{0}}));
    return Ok();
  });
  ASSERT_TRUE(zero.ok()) << zero.error().internal;
  for (int i = 0; i < 12; ++i) {  // more than the pool's sessions
    auto failed = one->Read([&](Tx& tx) { return tx.ExecLast(kDivide, {std::string("zero")}); });
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, ErrorCode::kInternal);
  }

  constexpr Query kMislabelled{"test.mislabelled_last_write", Access::kRead,
                               "INSERT INTO kv (k, v) VALUES ($1, 1) RETURNING v"};
  auto refused = one->Read([&](Tx& tx) { return tx.ExecLast(kMislabelled, {std::string("sneaky-last")}); });
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(this->Count(kCountKv, {std::string("sneaky-last")}), 0);

  // Writes on the same sessions still commit, and a later read sees them.
  for (int i = 0; i < 12; ++i) {
    Status put = one->WithWrite([&](Tx& tx) -> Status {
      RETURN_IF_ERROR(tx.Exec(kPutKv, {"w" + std::to_string(i), int64_t{i}}));
      return Ok();
    });
    ASSERT_TRUE(put.ok()) << put.error().internal;
    auto got = one->Read([&](Tx& tx) { return tx.ExecLast(kGetKv, {"w" + std::to_string(i)}); });
    ASSERT_TRUE(got.ok()) << got.error().internal;
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].Int(0), i);
  }

  // A read of two statements keeps one snapshot after an ExecLast-only read ran on its session.
  Status snap = one->WithRead([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Rows before, tx.Exec(kCountKv, {std::string("late")}));
    RETURN_IF_ERROR(this->db_->WithWrite([&](Tx& w) -> Status {
      RETURN_IF_ERROR(w.ExecLast(kPutKv, {std::string("late"), int64_t{1}}));
      return Ok();
    }));
    ASSIGN_OR_RETURN(Rows after, tx.ExecLast(kCountKv, {std::string("late")}));
    EXPECT_EQ(before[0].Int(0), 0);
    EXPECT_EQ(after[0].Int(0), 0);
    return Ok();
  });
  ASSERT_TRUE(snap.ok()) << snap.error().internal;
  EXPECT_EQ(this->Count(kCountKv, {std::string("late")}), 1);
}

TYPED_TEST(StorageTest, WritesInAReadTransactionAreRejected) {
  this->MigrateAll();
  Status s = this->db_->WithRead([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("sneaky"), int64_t{1}}));
    return Ok();
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
  EXPECT_NE(s.error().internal.find("read transaction"), std::string::npos) << s.error().internal;

  // A query mislabelled as a read is stopped by the database itself.
  constexpr Query kMislabelled{"test.mislabelled_write", Access::kRead,
                               "INSERT INTO kv (k, v) VALUES ($1, 1)"};
  Status db_refused = this->db_->WithRead([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kMislabelled, {std::string("sneaky")}));
    return Ok();
  });
  EXPECT_FALSE(db_refused.ok());
  EXPECT_EQ(this->Count(kCountKv, {std::string("sneaky")}), 0);
}

TYPED_TEST(StorageTest, WrongParameterCountIsAnError) {
  this->MigrateAll();
  auto too_few = this->db_->Read([&](Tx& tx) { return tx.Exec(kGetKv); });
  ASSERT_FALSE(too_few.ok());
  EXPECT_EQ(too_few.error().code, ErrorCode::kInternal);
  auto too_many = this->db_->Read([&](Tx& tx) { return tx.Exec(kGetKv, {std::string("a"), int64_t{1}}); });
  ASSERT_FALSE(too_many.ok());
  auto right = this->db_->Read([&](Tx& tx) { return tx.Exec(kGetKv, {std::string("seed")}); });
  ASSERT_TRUE(right.ok()) << right.error().internal;
  EXPECT_EQ((*right)[0].Int(0), 1);
}

TYPED_TEST(StorageTest, ConditionalStockDecrementNeverOversells) {
  this->MigrateAll();
  constexpr Query kStock{"test.insert_stock", Access::kWrite,
                         "INSERT INTO stock (id, remaining) VALUES ($1, $2)"};
  constexpr Query kTake{"test.take_stock", Access::kWrite,
                        "UPDATE stock SET remaining = remaining - 1 WHERE id = $1 AND remaining > 0"};
  constexpr Query kLeft{"test.stock_left", Access::kRead, "SELECT remaining FROM stock WHERE id = $1"};
  ASSERT_TRUE(this->db_
                  ->WithWrite([&](Tx& tx) -> Status {
                    RETURN_IF_ERROR(tx.Exec(kStock, {std::string("deal"), int64_t{100}}));
                    return Ok();
                  })
                  .ok());

  constexpr int kThreads = 8, kAttempts = 50;
  std::atomic<int> sold{0}, refused{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int a = 0; a < kAttempts; ++a) {
        auto took = this->db_->Write([&](Tx& tx) -> Result<bool> {
          ASSIGN_OR_RETURN(Rows r, tx.Exec(kTake, {std::string("deal")}));
          return r.affected == 1;
        });
        if (!took.ok())
          ++errors;
        else if (*took)
          ++sold;
        else
          ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(sold.load(), 100);
  EXPECT_EQ(refused.load(), kThreads * kAttempts - 100);
  EXPECT_EQ(this->Count(kLeft, {std::string("deal")}), 0);
}

// Many concurrent writers (on SQLite they share commits): each one's outcome is its own.
// Successes are all committed, failed or throwing functions leave nothing, and a write
// whose constraint fails does not take its neighbours down.
TYPED_TEST(StorageTest, ConcurrentWritesKeepTheirOwnOutcome) {
  this->MigrateAll();
  constexpr int kThreads = 16, kRounds = 20;
  std::atomic<int> ok{0}, failed{0}, thrown{0}, conflicts{0}, unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const std::string key = "w" + std::to_string(t) + "-" + std::to_string(round);
        const int kind = (t + round) % 4;
        try {
          Status s = this->db_->WithWrite([&](Tx& tx) -> Status {
            RETURN_IF_ERROR(tx.Exec(kPutKv, {key, int64_t{1}}));
            if (kind == 1) return Error(ErrorCode::kOutOfStock, "sold out");
            if (kind == 2) throw std::runtime_error("bug");
            if (kind == 3) RETURN_IF_ERROR(tx.Exec(kPutKv, {key, int64_t{2}}));  // duplicate key
            return Ok();
          });
          if (kind == 0 && s.ok())
            ++ok;
          else if (kind == 1 && !s.ok() && s.error().code == ErrorCode::kOutOfStock)
            ++failed;
          else if (kind == 3 && !s.ok() && s.error().code == ErrorCode::kConflict)
            ++conflicts;
          else
            ++unexpected;
        } catch (const std::runtime_error&) {
          if (kind == 2)
            ++thrown;
          else
            ++unexpected;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  constexpr int kEach = kThreads * kRounds / 4;
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(ok.load(), kEach);
  EXPECT_EQ(failed.load(), kEach);
  EXPECT_EQ(thrown.load(), kEach);
  EXPECT_EQ(conflicts.load(), kEach);
  constexpr Query kCountAll{"test.count_all_kv", Access::kRead, "SELECT COUNT(*) FROM kv WHERE k LIKE 'w%'"};
  EXPECT_EQ(this->Count(kCountAll), kEach);  // only the successful writes are there
  for (int t = 0; t < kThreads; ++t) {
    for (int round = 0; round < kRounds; ++round) {
      const std::string key = "w" + std::to_string(t) + "-" + std::to_string(round);
      EXPECT_EQ(this->Count(kCountKv, {key}), (t + round) % 4 == 0 ? 1 : 0) << key;
    }
  }
}

TYPED_TEST(StorageTest, ReadsSeeCommittedDataAsOneSnapshot) {
  this->MigrateAll();
  auto put = [&](const std::string& k) {
    return this->db_->WithWrite([&](Tx& tx) -> Status {
      RETURN_IF_ERROR(tx.Exec(kPutKv, {k, int64_t{1}}));
      return Ok();
    });
  };
  constexpr Query kAll{"test.count_all_kv", Access::kRead, "SELECT COUNT(*) FROM kv"};
  ASSERT_TRUE(put("before").ok());
  EXPECT_EQ(this->Count(kCountKv, {std::string("before")}), 1);  // committed → visible

  Status s = this->db_->WithRead([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Rows first, tx.Exec(kAll));
    // Another transaction commits in the middle of this one...
    RETURN_IF_ERROR(put("during"));
    // ... and this snapshot does not see it.
    ASSIGN_OR_RETURN(Rows second, tx.Exec(kAll));
    EXPECT_EQ(first[0].Int(0), second[0].Int(0));
    ASSIGN_OR_RETURN(Rows during, tx.Exec(kCountKv, {std::string("during")}));
    EXPECT_EQ(during[0].Int(0), 0);
    return Ok();
  });
  ASSERT_TRUE(s.ok()) << s.error().internal;
  EXPECT_EQ(this->Count(kCountKv, {std::string("during")}), 1);  // a new snapshot does

  // Uncommitted writes stay invisible to readers.
  Status w = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("pending"), int64_t{1}}));
    EXPECT_EQ(this->Count(kCountKv, {std::string("pending")}), 0);
    return Ok();
  });
  ASSERT_TRUE(w.ok()) << w.error().internal;
  EXPECT_EQ(this->Count(kCountKv, {std::string("pending")}), 1);
}

TYPED_TEST(StorageTest, PgSqlVariantIsUsedOnlyOnPostgres) {
  constexpr Query kWhich{"test.which_dialect", Access::kRead, "SELECT 'sqlite' AS d",
                         "SELECT 'postgres' AS d"};
  auto rows = this->db_->Read([&](Tx& tx) { return tx.Exec(kWhich); });
  ASSERT_TRUE(rows.ok()) << rows.error().internal;
  EXPECT_EQ((*rows)[0].Str(0), TypeParam::kDialect == Dialect::kSqlite ? "sqlite" : "postgres");
}

TYPED_TEST(StorageTest, SwallowedStatementErrorDependsOnTheDialect) {
  // Documented difference: a failed statement aborts a PostgreSQL transaction, so a
  // function that ignores the error cannot commit the rest; SQLite carries on.
  this->MigrateAll();
  Status s = this->db_->WithWrite([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPutKv, {std::string("x1"), int64_t{1}}));
    auto dup = tx.Exec(kPutKv, {std::string("x1"), int64_t{2}});
    EXPECT_FALSE(dup.ok());
    return Ok();
  });
  if (TypeParam::kDialect == Dialect::kSqlite) {
    EXPECT_TRUE(s.ok()) << s.error().internal;
    EXPECT_EQ(this->Count(kCountKv, {std::string("x1")}), 1);
  } else {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kInternal);
    EXPECT_EQ(this->Count(kCountKv, {std::string("x1")}), 0);
  }
}

TYPED_TEST(StorageTest, DescribeHidesThePassword) {
  if constexpr (TypeParam::kDialect == Dialect::kSqlite) {
    EXPECT_EQ(this->db_->Describe(), this->backend_.target);  // "sqlite:<path>"
  } else {
    // The test server trusts local connections, so any password is accepted.
    std::string url = this->backend_.target;
    size_t at = url.find('@');
    ASSERT_NE(at, std::string::npos) << "HUTONG_TEST_PG_URL needs a user: " << url;
    url.insert(at, ":s3cret-pw");
    url = WithParam(url, "password=other-s3cret");
    auto db = OpenDb(url, DbOptions{});
    ASSERT_TRUE(db.ok()) << db.error().internal;
    std::string d = (*db)->Describe();
    EXPECT_EQ(d.find("s3cret"), std::string::npos) << d;
    EXPECT_NE(d.find("schema=" + this->backend_.schema), std::string::npos) << d;
    EXPECT_EQ(d.rfind("postgresql://", 0), 0u) << d;
  }
}

TYPED_TEST(StorageTest, BadTargetsGiveCleanErrors) {
  std::vector<std::string> targets;
  if constexpr (TypeParam::kDialect == Dialect::kSqlite) {
    targets = {"/dev/null/cannot/be/a/folder/x.db", "sqlite:", "/proc/version"};
  } else {
    // Each carries a password, which must not reach the error either (libpq quotes URLs).
    targets = {
        "postgresql://postgres:s3cr3t@127.0.0.1:1/postgres",                     // nothing listens
        "postgres://postgres:s3cr3t@127.0.0.1:99999/postgres",                   // bad port
        "postgresql://postgres:s3cr3t@127.0.0.1/postgres?schema=Bad-Name",       // bad schema
        "postgresql://postgres:s3cr3t@127.0.0.1/postgres?no_such_option=1",      // libpq rejects
        "postgresql://postgres:s3cr3t@[::1/postgres",                            // malformed
        "postgresql://postgres@127.0.0.1:1/postgres?password=s3cr3t&sslmode=x",  // bad sslmode
    };
  }
  for (const std::string& t : targets) {
    auto db = OpenDb(t, DbOptions{});
    ASSERT_FALSE(db.ok()) << t;
    EXPECT_FALSE(db.error().internal.empty()) << t;
    EXPECT_EQ(db.error().detail.find("s3cr3t"), std::string::npos) << db.error().detail;
    EXPECT_EQ(db.error().internal.find("s3cr3t"), std::string::npos) << db.error().internal;
  }
  if constexpr (TypeParam::kDialect == Dialect::kPostgres) {
    auto unreachable = OpenDb(targets[0], DbOptions{});
    ASSERT_FALSE(unreachable.ok());
    EXPECT_EQ(unreachable.error().code, ErrorCode::kUnavailable);
    auto malformed = OpenDb(targets[4], DbOptions{});
    ASSERT_FALSE(malformed.ok());
    EXPECT_EQ(malformed.error().code, ErrorCode::kValidationFailed);
  }
}

// --- Not per dialect ---

// More writers than one group holds (128): the leader of each group hands the lead to the
// oldest write still queued, so every write commits and every caller returns, once.
TEST(SqliteGroupCommit, MoreWritersThanOneGroupAllCommitAndReturn) {
  SqliteBackend backend;
  std::string why;
  ASSERT_TRUE(backend.Prepare(why));
  {
    auto db = OpenDb(backend.target, DbOptions{});
    ASSERT_TRUE(db.ok()) << db.error().internal;
    ASSERT_TRUE(Migrate(**db, kMigrations).ok());
    constexpr int kThreads = 200, kRounds = 5;
    std::atomic<int> ok{0}, refused{0}, unexpected{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < kRounds; ++round) {
          const std::string key = "g" + std::to_string(t) + "-" + std::to_string(round);
          const bool refuse = (t + round) % 7 == 0;
          Status s = (*db)->WithWrite([&](Tx& tx) -> Status {
            RETURN_IF_ERROR(tx.Exec(kPutKv, {key, int64_t{t}}));
            if (refuse) return Error(ErrorCode::kOutOfStock, "sold out");
            return Ok();
          });
          if (!refuse && s.ok())
            ++ok;
          else if (refuse && !s.ok() && s.error().code == ErrorCode::kOutOfStock)
            ++refused;
          else
            ++unexpected;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(unexpected.load(), 0);
    EXPECT_EQ(ok.load() + refused.load(), kThreads * kRounds);
    constexpr Query kCountAll{"test.count_group_kv", Access::kRead,
                              "SELECT COUNT(*) FROM kv WHERE k LIKE 'g%'"};
    auto n = (*db)->Read([&](Tx& tx) -> Result<int64_t> {
      ASSIGN_OR_RETURN(Rows rows, tx.Exec(kCountAll));
      return rows[0].Int(0);
    });
    ASSERT_TRUE(n.ok()) << n.error().internal;
    EXPECT_EQ(*n, ok.load());  // exactly the writes that were not refused
  }
  backend.Cleanup();
}

// SQLite's memory statistics (a process-wide mutex on every malloc and free of the engine)
// are off once a database is open: nothing is counted however much a statement allocates.
TEST(SqliteMemoryStatistics, OffOnceADatabaseIsOpen) {
  SqliteBackend backend;
  std::string why;
  ASSERT_TRUE(backend.Prepare(why));
  {
    auto db = OpenDb(backend.target, DbOptions{});
    ASSERT_TRUE(db.ok()) << db.error().internal;
    ASSERT_TRUE(Migrate(**db, kMigrations).ok());
    const std::string big(100000, 'x');
    ASSERT_TRUE((*db)
                    ->WithWrite([&](Tx& tx) -> Status {
                      RETURN_IF_ERROR(tx.Exec(kPutKv, {big, int64_t{1}}));
                      return Ok();
                    })
                    .ok());
    constexpr Query kLongest{"test.longest_kv", Access::kRead,
                             "SELECT k FROM kv ORDER BY length(k) DESC LIMIT 1"};
    auto k = (*db)->Read([&](Tx& tx) -> Result<std::string> {
      ASSIGN_OR_RETURN(Rows rows, tx.Exec(kLongest));
      return rows[0].Str(0);
    });
    ASSERT_TRUE(k.ok()) << k.error().internal;
    EXPECT_EQ(*k, big);
    EXPECT_EQ(sqlite3_memory_used(), 0);
  }
  backend.Cleanup();
}

// SQLite's temporary files (a sub-journal spilled out of memory among them) are named
// etilqs_* and unlinked at once; an open one still shows among the process's descriptors.
int OpenSqliteTempFiles() {
  int n = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    auto target = std::filesystem::read_symlink(it->path(), link_ec);
    if (!link_ec && target.filename().string().rfind("etilqs_", 0) == 0) ++n;
  }
  return n;
}

// A statement inside a transaction journals every page it changes in a sub-journal, so it
// can be undone alone; every write of a group commit has one for its SAVEPOINT too. One of
// a few hundred kilobytes (SQLite's default keeps 64 KiB in memory, then spills to a new
// temporary file) stays in memory, and undoing the statement from it restores every page.
TEST(SqliteSubJournal, LargeSubJournalStaysInMemoryAndUndoesTheStatement) {
  SqliteBackend backend;
  std::string why;
  ASSERT_TRUE(backend.Prepare(why));
  {
    auto db = OpenDb(backend.target, DbOptions{});
    ASSERT_TRUE(db.ok()) << db.error().internal;
    ASSERT_TRUE(Migrate(**db, kMigrations).ok());
    // 300 rows with 1,000-byte keys: about 75 table pages, 300 KB of sub-journal to change them all.
    constexpr int kRows = 300;
    ASSERT_TRUE((*db)
                    ->WithWrite([&](Tx& tx) -> Status {
                      for (int i = 0; i < kRows; ++i) {
                        std::string key = "j" + std::to_string(1000 + i);
                        key.resize(1000, 'x');
                        RETURN_IF_ERROR(tx.Exec(kPutKv, {key, int64_t{1}}));
                      }
                      return Ok();
                    })
                    .ok());
    // Changes every row, then fails on the last one (NOT NULL): the statement alone is undone.
    constexpr Query kBumpAllButFailLast{
        "test.bump_all_but_fail_last", Access::kWrite,
        "UPDATE kv SET v = CASE WHEN k LIKE 'j1299%' THEN NULL ELSE v + 1 END WHERE k LIKE 'j%'"};
    int temp_files = -1;
    Status s = (*db)->WithWrite([&](Tx& tx) -> Status {
      auto bumped = tx.Exec(kBumpAllButFailLast);
      EXPECT_FALSE(bumped.ok());
      if (!bumped.ok()) {
        EXPECT_EQ(bumped.error().code, ErrorCode::kConflict) << bumped.error().internal;
      }
      temp_files = OpenSqliteTempFiles();
      auto put = tx.Exec(kPutKv, {std::string("after"), int64_t{7}});  // the transaction goes on
      if (!put.ok()) return std::move(put).error();
      return Ok();
    });
    ASSERT_TRUE(s.ok()) << s.error().internal;
    EXPECT_EQ(temp_files, 0);
    constexpr Query kSumJ{"test.sum_j_kv", Access::kRead,
                          "SELECT COUNT(*), SUM(v) FROM kv WHERE k LIKE 'j%'"};
    auto sums = (*db)->Read([&](Tx& tx) -> Result<std::pair<int64_t, int64_t>> {
      ASSIGN_OR_RETURN(Rows rows, tx.Exec(kSumJ));
      return std::make_pair(rows[0].Int(0), rows[0].Int(1));
    });
    ASSERT_TRUE(sums.ok()) << sums.error().internal;
    EXPECT_EQ(sums->first, kRows);
    EXPECT_EQ(sums->second, kRows);  // every row as before the failed statement
    auto after = (*db)->Read([&](Tx& tx) -> Result<int64_t> {
      ASSIGN_OR_RETURN(Rows rows, tx.Exec(kGetKv, {std::string("after")}));
      return rows.empty() ? -1 : rows[0].Int(0);
    });
    ASSERT_TRUE(after.ok()) << after.error().internal;
    EXPECT_EQ(*after, 7);
  }
  backend.Cleanup();
}

TEST(Row, TypedAccessors) {
  Row row({Value(int64_t{42}), Value(2.75), Value(std::string("火锅")), Null()});
  EXPECT_EQ(row.size(), 4u);
  EXPECT_EQ(row.Int(0), 42);
  EXPECT_DOUBLE_EQ(row.Double(0), 42.0);
  EXPECT_EQ(row.Int(1), 2);
  EXPECT_DOUBLE_EQ(row.Double(1), 2.75);
  EXPECT_EQ(row.Str(2), "火锅");
  EXPECT_EQ(row.Int(2), 0);  // text never turns into a number
  EXPECT_EQ(row.Str(0), "");
  EXPECT_TRUE(row.IsNull(3));
  EXPECT_EQ(row.Str(3), "");
  EXPECT_EQ(row.OptInt(3), std::nullopt);
  EXPECT_EQ(row.OptStr(3), std::nullopt);
  EXPECT_EQ(row.OptInt(0), 42);
  EXPECT_EQ(row.OptStr(2), "火锅");
  EXPECT_EQ(Opt(std::optional<int>(7)), Value(int64_t{7}));
  EXPECT_EQ(Opt(std::optional<std::string>()), Null());
}

TEST(PgTarget, StripsSchemaAndHidesSecrets) {
  auto t = ParsePgTarget(
      "postgresql://alice:hunter2@db.example:6543/hutong?sslmode=disable&schema=provider&password=x1",
      "public");
  ASSERT_TRUE(t.ok()) << t.error().internal;
  EXPECT_EQ(t->schema, "provider");
  EXPECT_EQ(t->conninfo.find("schema="), std::string::npos) << t->conninfo;
  EXPECT_NE(t->conninfo.find("sslmode=disable"), std::string::npos) << t->conninfo;
  EXPECT_NE(t->conninfo.find("connect_timeout="), std::string::npos) << t->conninfo;
  EXPECT_EQ(t->description, "postgresql://alice@db.example:6543/hutong?schema=provider");

  auto d = ParsePgTarget("postgres://bob@localhost/app", "host");
  ASSERT_TRUE(d.ok()) << d.error().internal;
  EXPECT_EQ(d->schema, "host");
  EXPECT_EQ(d->description, "postgresql://bob@localhost/app?schema=host");

  for (const char* bad : {"postgresql://u@h/db?schema=Host", "postgresql://u@h/db?schema=1abc",
                          "postgresql://u@h/db?schema=a;drop", "postgresql://u@h/db?schema="}) {
    auto r = ParsePgTarget(bad, "public");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kValidationFailed) << bad;
  }
  EXPECT_FALSE(ParsePgTarget("postgresql://u@h/db", "Bad Default").ok());
}

TEST(PgSchema, ConcurrentOpensCreateTheSchemaOnce) {
  const std::string base = PgBaseUrl();
  ASSERT_FALSE(base.empty()) << kNoPgUrl;
  const std::string schema = "t_" + RandomHex(8);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto db = OpenDb(base, DbOptions{.default_schema = schema, .pool_size = 2});
      if (!db.ok()) {
        ++failures;
        ADD_FAILURE() << db.error().internal;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto admin = OpenDb(base, DbOptions{.pool_size = 1});
  ASSERT_TRUE(admin.ok()) << admin.error().internal;
  Status dropped =
      (*admin)->WithWrite([&](Tx& tx) { return tx.ExecScript("DROP SCHEMA " + schema + " CASCADE"); });
  EXPECT_TRUE(dropped.ok()) << dropped.error().internal;
}

TEST(PgPool, ReconnectsAfterTheServerDropsTheConnection) {
  const std::string base = PgBaseUrl();
  ASSERT_FALSE(base.empty()) << kNoPgUrl;
  auto db = OpenDb(base, DbOptions{.pool_size = 1});
  ASSERT_TRUE(db.ok()) << db.error().internal;
  auto admin = OpenDb(base, DbOptions{.pool_size = 1});
  ASSERT_TRUE(admin.ok()) << admin.error().internal;

  constexpr Query kPid{"test.backend_pid", Access::kRead, "SELECT pg_backend_pid()"};
  constexpr Query kKill{"test.terminate", Access::kWrite, "SELECT pg_terminate_backend($1, 5000)"};
  auto pid = (*db)->Read([&](Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Rows rows, tx.Exec(kPid));
    return rows[0].Int(0);
  });
  ASSERT_TRUE(pid.ok()) << pid.error().internal;
  auto killed = (*admin)->Write([&](Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Rows rows, tx.Exec(kKill, {*pid}));
    return rows[0].Int(0);  // a boolean, read as 0/1
  });
  ASSERT_TRUE(killed.ok()) << killed.error().internal;
  EXPECT_EQ(*killed, 1);

  // The pooled session is dead (the call above waits until it is); the next transaction
  // notices at BEGIN and reconnects.
  Status ping = (*db)->Ping();
  EXPECT_TRUE(ping.ok()) << ping.error().internal;
  auto new_pid = (*db)->Read([&](Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Rows rows, tx.Exec(kPid));
    return rows[0].Int(0);
  });
  ASSERT_TRUE(new_pid.ok()) << new_pid.error().internal;
  EXPECT_NE(*new_pid, *pid);

  // A read of one ExecLast statement (no BEGIN travels with it) reconnects too: it changed
  // nothing, so running it again on a new session is safe.
  auto killed_again = (*admin)->Write([&](Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Rows rows, tx.Exec(kKill, {*new_pid}));
    return rows[0].Int(0);
  });
  ASSERT_TRUE(killed_again.ok()) << killed_again.error().internal;
  EXPECT_EQ(*killed_again, 1);
  auto last_pid = (*db)->Read([&](Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Rows rows, tx.ExecLast(kPid));
    return rows[0].Int(0);
  });
  ASSERT_TRUE(last_pid.ok()) << last_pid.error().internal;
  EXPECT_NE(*last_pid, *new_pid);
}

// Sessions are read-only unless a transaction begins READ WRITE: a read's lone statement
// runs without BEGIN, so this is what keeps the database refusing writes there.
TEST(PgPool, SessionsDefaultToReadOnlyTransactions) {
  const std::string base = PgBaseUrl();
  ASSERT_FALSE(base.empty()) << kNoPgUrl;
  auto db = OpenDb(base, DbOptions{.pool_size = 1});
  ASSERT_TRUE(db.ok()) << db.error().internal;
  constexpr Query kReadOnly{"test.read_only", Access::kRead,
                            "SELECT current_setting('transaction_read_only')"};
  auto alone = (*db)->Read([&](Tx& tx) { return tx.ExecLast(kReadOnly); });
  ASSERT_TRUE(alone.ok()) << alone.error().internal;
  EXPECT_EQ((*alone)[0].Str(0), "on");
  auto write = (*db)->Write([&](Tx& tx) { return tx.ExecLast(kReadOnly); });
  ASSERT_TRUE(write.ok()) << write.error().internal;
  EXPECT_EQ((*write)[0].Str(0), "off");
}

}  // namespace
}  // namespace hutong::storage
