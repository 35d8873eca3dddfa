// RocksDB's C API, from Debian's librocksdb-dev (apt-get install -y librocksdb-dev).
#include <rocksdb/c.h>
