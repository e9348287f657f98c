// A minimal writer of TensorBoard event files (scalars only), without protobuf.
//
// File format (TensorFlow's TFRecord): each record is
//   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
// where masked_crc(x) = ((crc >> 15) | (crc << 17)) + 0xa282ead8 and crc is CRC-32C (Castagnoli).
// Each data block is a serialized tensorflow.Event:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lmlab/common/append_file.h"

namespace lmlab::runlog {

uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

// One TFRecord: length, its CRC, the payload, its CRC.
std::string frame_record(const std::string& payload);

// Serialized Event protos.
std::string encode_file_version_event(double wall_time);
std::string encode_scalars_event(double wall_time, int64_t step,
                                 const std::vector<std::pair<std::string, float>>& scalars);

// Appends events to "<dir>/events.out.tfevents.<unix time>.<host>.<pid>".
class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One event, written whole or not at all (AppendFile: a full disk is a UserError).
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& payload);
  std::string path_;
  std::unique_ptr<AppendFile> file_;
};

}  // namespace lmlab::runlog
