// The message of the lmlab::UserError a callable throws, for tests of error messages.
#pragma once
#include <string>

#include "lmlab/common/error.h"

namespace lmlab::test {

// "" when `f` throws no UserError (any other exception propagates and fails the test).
template <class F>
std::string user_error_of(F f) {
  try {
    f();
  } catch (const lmlab::UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace lmlab::test
