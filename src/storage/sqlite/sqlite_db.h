// The SQLite driver of storage::Db: one WAL database file, one writer connection and a
// pool of read-only reader connections, each with its own prepared-statement cache.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/db.h"

namespace hutong::storage {

namespace sqlite_internal {
struct Conn;  // one sqlite3 handle plus its statement cache (sqlite_db.cpp)
}

// Threading: every public call may come from any thread (blocking pool only). Writes are
// serialised in-process by writer_mu_ and across processes by BEGIN IMMEDIATE (with a busy
// timeout); reads run concurrently on the readers, each a snapshot (WAL).
//
// Group commit: write transactions that arrive while another commit is in progress wait
// in a queue; when that commit is done its leader hands the lead to the oldest of them,
// which takes the whole queue and runs each function (on its own thread, no hand-off to a
// writer thread) in its own SAVEPOINT inside one transaction, with one COMMIT (one fsync
// under synchronous=FULL) for all. Each waiter is woken once: to lead, or with its result. A function that
// fails or throws is rolled back to its savepoint alone and gets its own error; the others are unaffected.
// Every caller returns only after the COMMIT that holds its writes, with that COMMIT's status. A lone write
// runs as a plain transaction.
//
// The Db must outlive every transaction running on it; destroying it closes all handles.
class SqliteDb final : public Db {
 public:
  // Opens (creating the file and its parent folders if missing) and configures the
  // database. Errors: kInternal when the file cannot be opened or configured.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, const DbOptions& options);
  ~SqliteDb() override;

  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string Describe() const override { return "sqlite:" + path_; }
  Status WithRead(const std::function<Status(Tx&)>& fn) override;
  Status WithWrite(const std::function<Status(Tx&)>& fn) override;
  Status Ping() override;

 private:
  explicit SqliteDb(std::string path);

  // Blocks until a reader is free. Returns it to the pool with CheckIn.
  sqlite_internal::Conn* CheckOut();
  void CheckIn(sqlite_internal::Conn* conn);

  const std::string path_;

  struct WriteRequest;
  // Runs a batch of queued writes on writer_ (writer_mu_ held), filling in their results.
  void RunWriteBatch(const std::vector<WriteRequest*>& batch);

  std::mutex writer_mu_;                           // held for a whole write transaction
  std::unique_ptr<sqlite_internal::Conn> writer_;  // GUARDED_BY(writer_mu_) after Open

  std::mutex queue_mu_;
  std::vector<WriteRequest*> queue_;  // GUARDED_BY(queue_mu_): writes waiting for a leader
  // GUARDED_BY(queue_mu_): a thread is running a batch or has been handed the lead.
  bool leader_active_ = false;

  std::vector<std::unique_ptr<sqlite_internal::Conn>> readers_;  // owned; fixed after Open
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<sqlite_internal::Conn*> free_readers_;  // GUARDED_BY(pool_mu_)
};

}  // namespace hutong::storage
