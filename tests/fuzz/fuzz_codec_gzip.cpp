// libFuzzer: gzip decompression of arbitrary bytes under a small output limit, and
// compress -> decompress round trips of arbitrary bytes.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kwire/protocol/compression.hpp"

namespace kp = kwire::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr kp::compression kCodec = kp::compression::gzip;
  constexpr std::size_t kMaxOutput = 256 * 1024;
  const std::span<const std::uint8_t> input(data, size);

  std::vector<std::uint8_t> out = {0x42};
  const std::error_code ec = kp::decompress(kCodec, input, out, kMaxOutput);
  if (out.empty() || out[0] != 0x42) std::abort();  // existing bytes are kept
  if (ec && out.size() != 1) std::abort();          // and nothing is left on error
  if (out.size() - 1 > kMaxOutput) std::abort();    // the limit holds

  std::vector<std::uint8_t> packed, back;
  if (kp::compress(kCodec, input, packed)) std::abort();
  if (kp::decompress(kCodec, packed, back, size)) std::abort();
  if (back.size() != size || !std::equal(back.begin(), back.end(), data)) std::abort();
  return 0;
}
