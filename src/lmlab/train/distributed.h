// Data parallelism over libtorch's c10d: every rank runs the same model on its own slice of the
// global batch and gradients are averaged with all-reduce before each optimizer step.
// Ranks come from the usual environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT), so `torchrun --no-python --nproc-per-node N lmlab train ...` and a plain shell
// loop both work. Rendezvous is a c10d TCPStore served by rank 0. Backend: Gloo for CPU
// tensors, NCCL for CUDA tensors (when libtorch was built with it). Every collective has a
// timeout (train.dist_timeout_s): a dead or stuck peer makes the others fail with an error
// naming the rank, never hang. Before training every rank checks that all ranks joined the
// rendezvous (naming a missing one) and that they resolved the same config and data.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lmlab::train {

struct RankInfo {
  int64_t rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  // Under torchrun the agent already serves the TCPStore at MASTER_ADDR:MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE=True): every rank joins it as a client, under the key prefix
  // PyTorch's own workers use, "/worker/attempt_<TORCHELASTIC_RESTART_COUNT>".
  bool agent_store = false;
  int64_t restart_count = 0;
};

// Reads the environment; UserError on malformed or inconsistent values.
RankInfo rank_info_from_env();

// The first line where two TOML texts differ, as "model.d_model is 64 here but 32" when the
// same key has two values, else "line N is 'a' here but 'b'"; "" when they are equal.
std::string first_toml_difference(const std::string& mine, const std::string& theirs);

class Distributed {
 public:
  // A single process (world size 1) needs no process group; all collectives are identities.
  Distributed(const RankInfo& info, const torch::Device& device, double timeout_s);
  ~Distributed();

  int64_t rank() const { return info_.rank; }
  int64_t world_size() const { return info_.world_size; }
  bool is_main() const { return info_.rank == 0; }
  const std::string& backend() const { return backend_; }

  // In place: tensors become their sum / mean over ranks.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  // Averages the gradients of `params` (one flat buffer, one collective).
  void average_gradients(const std::vector<torch::Tensor>& params);
  // Mean of a scalar over ranks (the global-batch loss).
  torch::Tensor mean(const torch::Tensor& scalar);
  // Rank 0's values replace every rank's (identical initial weights).
  void broadcast(std::vector<torch::Tensor>& tensors);
  void barrier();
  // Every rank's `text` (a resolved config.toml, a data fingerprint) must equal every other's:
  // else a UserError on each rank naming `what` and the first differing key, before training.
  void check_same(const std::string& what, const std::string& text);

 private:
  void run(const char* what, const std::function<void()>& collective);

  RankInfo info_;
  std::string backend_ = "none";
  struct Group;
  std::unique_ptr<Group> group_;
};

}  // namespace lmlab::train
