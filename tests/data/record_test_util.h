// Helpers for the record-reader tests: the UserError text of a call, gzip of a scratch file,
// and the shared data directory (tests that need it skip when it is absent).
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"

namespace lmlab::test {

// The message of the UserError `fn` throws; a test failure (and "") when it throws none.
template <class Fn>
std::string user_error_of(Fn fn) {
  try {
    fn();
  } catch (const lmlab::UserError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a UserError";
  return "";
}

// Writes `path`.gz beside `path` (kept) with the system gzip.
inline std::string gzip_copy(const std::string& path) {
  EXPECT_EQ(std::system(("gzip -n -k -f '" + path + "'").c_str()), 0);
  return path + ".gz";
}

// The shared data file `relative`, or "" when the shared data is not on this machine.
inline std::string shared_file(const std::string& relative) {
  std::string p = lmlab::data_root() + "/" + relative;
  return lmlab::file_exists(p) ? p : "";
}

}  // namespace lmlab::test

#define LMLAB_SHARED_FILE_OR_SKIP(var, relative)                                   \
  const std::string var = lmlab::test::shared_file(relative);                      \
  if (var.empty()) GTEST_SKIP() << "shared data file " << relative << " is absent"
