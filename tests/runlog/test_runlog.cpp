#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/runlog/jsonl.h"
#include "lmlab/runlog/metrics.h"
#include "lmlab/runlog/tensorboard.h"
#include "testing.h"

using namespace lmlab::runlog;

namespace {

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(lmlab::test::read_text(path));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

// Expected bytes below were computed independently (Python: bitwise CRC-32C, struct.pack).
TEST(TensorBoard, Crc32cCheckValue) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the standard CRC-32C check value
}

TEST(TensorBoard, RecordFraming) {
  EXPECT_EQ(hex(frame_record("hello")), "0500000000000000eab2043e68656c6c6fbb1f1c19");
}

TEST(TensorBoard, ScalarEventEncoding) {
  std::string ev = encode_scalars_event(1.5, 300, {{"loss", 2.5f}});
  EXPECT_EQ(hex(ev), "09000000000000f83f10ac022a0d0a0b0a046c6f73731500002040");
  EXPECT_EQ(hex(frame_record(ev)),
            "1b000000000000001a0d9e1309000000000000f83f10ac022a0d0a0b0a046c6f7373150000204068997c51");
}

TEST(TensorBoard, WriterStartsWithFileVersionEvent) {
  lmlab::test::TempDir tmp;
  std::string path;
  {
    TensorBoardWriter w(tmp.path());
    w.add_scalars(1, {{"a", 1.0f}});
    path = w.path();
  }
  std::string bytes = lmlab::test::read_text(path);
  std::string first = frame_record(encode_file_version_event(0.0));
  ASSERT_GT(bytes.size(), first.size());
  // Same length prefix; the payload carries "brain.Event:2".
  EXPECT_EQ(bytes.substr(0, 8), first.substr(0, 8));
  EXPECT_NE(bytes.find("brain.Event:2"), std::string::npos);
  EXPECT_NE(path.find("events.out.tfevents."), std::string::npos);
}

TEST(Metrics, OneJsonObjectPerStep) {
  lmlab::test::TempDir tmp;
  {
    MetricsLogger m(tmp.path());
    m.log(1, {{"loss", 3.5}, {"lr", 1e-4}, {"routing", {{"entropy", 0.7}, {"load", {0.5, 0.5}}}}});
    m.log(2, {{"loss", 3.25}});
  }
  auto lines = read_jsonl(tmp.file("metrics.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["step"], 1);
  EXPECT_DOUBLE_EQ(lines[0]["loss"].get<double>(), 3.5);
  EXPECT_DOUBLE_EQ(lines[0]["lr"].get<double>(), 1e-4);
  EXPECT_EQ(lines[0]["routing"]["load"].size(), 2u);
  EXPECT_EQ(lines[1]["step"], 2);
  // A TensorBoard file sits beside it.
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.file("tb")))
    n += e.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_EQ(n, 1);
}

TEST(Metrics, ResumeDropsEntriesAfterTheCheckpoint) {
  lmlab::test::TempDir tmp;
  {
    MetricsLogger m(tmp.path());
    for (int s = 1; s <= 5; ++s) m.log(s, {{"loss", 10.0 - s}});
  }
  {
    MetricsLogger m(tmp.path(), /*resume_step=*/3);
    m.log(4, {{"loss", 0.5}});
  }
  auto lines = read_jsonl(tmp.file("metrics.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3]["step"], 4);
  EXPECT_DOUBLE_EQ(lines[3]["loss"].get<double>(), 0.5);
}

// A run killed in the middle of a write leaves half a last line in any of its jsonl files:
// --resume drops it and keeps the rest. A damaged line before the last is not guessed at.
TEST(Jsonl, ResumeToleratesAPartialLastLineInEveryRunFile) {
  lmlab::test::TempDir tmp;
  const std::string metrics = tmp.file("metrics.jsonl"), positions = tmp.file("position_loss.jsonl");
  for (const std::string& path : {metrics, positions})
    lmlab::test::write_text(path, "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n{\"step\":3,\"lo");
  truncate_jsonl(positions, 2);
  EXPECT_EQ(lmlab::test::read_text(positions), "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n");
  {
    MetricsLogger m(tmp.path(), /*resume_step=*/2);
    m.log(3, {{"loss", 1.0}});
  }
  auto lines = read_jsonl(metrics);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["step"], 3);

  lmlab::test::write_text(positions, "{\"step\":1}\n{\"step\n{\"step\":3}\n");
  try {
    truncate_jsonl(positions, 3);
    FAIL() << "a damaged middle line was accepted";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find(positions + ":2:"), std::string::npos) << e.what();
  }
}
