// pick_device: the one device choice shared by train, eval and generate.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lmlab/common/error.h"
#include "lmlab/train/device.h"

using lmlab::UserError;
using lmlab::train::pick_device;

TEST(PickDevice, CpuIsAlwaysCpuAndAutoFollowsCuda) {
  EXPECT_EQ(pick_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_EQ(pick_device("cpu", 3), torch::Device(torch::kCPU));
  EXPECT_EQ(pick_device("auto").type(), torch::cuda::is_available() ? torch::kCUDA : torch::kCPU);
}

TEST(PickDevice, CudaIsTheLocalRanksGpuOrAUserError) {
  if (torch::cuda::is_available()) {
    const int64_t n = static_cast<int64_t>(torch::cuda::device_count());
    EXPECT_EQ(pick_device("cuda", n + 1), torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(1 % n)));
    return;
  }
  try {
    pick_device("cuda");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
}

TEST(PickDevice, AnUnknownChoiceIsAUserErrorWithTheClosest) {
  try {
    pick_device("cuad");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown device 'cuad' (did you mean 'cuda'?)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pick_device(""), UserError);
}
