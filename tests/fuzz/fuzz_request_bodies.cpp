// libFuzzer: every request body decoder, at every version (see message_fuzz.hpp).
#include "message_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return kwire::fuzz::fuzz_one<true>(data, size);
}
