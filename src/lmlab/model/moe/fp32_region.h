// Routers, gates and their losses run in fp32 even inside a bf16 autocast region: autocast
// recasts a linear's inputs to bf16 after any `.to(kFloat)` we write, so casting alone is not
// enough. While an Fp32Region lives, the autocast dispatch keys are excluded (what
// `torch.autocast(enabled=False)` achieves), and the caller casts its inputs to fp32.
#pragma once
#include <c10/core/DispatchKeySet.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

namespace lmlab::model::moe {

class Fp32Region {
 public:
  Fp32Region() : no_autocast_(c10::autocast_dispatch_keyset) {}

 private:
  c10::impl::ExcludeDispatchKeyGuard no_autocast_;
};

}  // namespace lmlab::model::moe
