// The one-line user error every refused command must print (docs/conventions.md): exit 2,
// a single "lmlab: error: " line on stderr, naming what the user has to fix.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "testing.h"

namespace lmlab::test {

inline void expect_one_error_line(const RunResult& r, const std::vector<std::string>& needles) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("lmlab: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "' in " << r.err;
}

}  // namespace lmlab::test
