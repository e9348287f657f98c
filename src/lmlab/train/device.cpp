// Device selection (see device.h).
#include "lmlab/train/device.h"

#include <algorithm>

#include "lmlab/common/error.h"

namespace lmlab::train {

const std::vector<std::string>& device_choices() {
  static const std::vector<std::string> choices = {"auto", "cpu", "cuda"};
  return choices;
}

torch::Device pick_device(const std::string& choice, int64_t local_rank) {
  const std::vector<std::string>& known = device_choices();
  if (std::find(known.begin(), known.end(), choice) == known.end())
    throw UserError("unknown device '" + choice + "'" + did_you_mean(choice, known) + "; expected auto, cpu or cuda");
  const bool available = torch::cuda::is_available();
  if (choice == "cpu" || (choice == "auto" && !available)) return torch::kCPU;
  if (!available) throw UserError("device \"cuda\" was asked for but no CUDA device is available");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % torch::cuda::device_count()));
}

}  // namespace lmlab::train
