// frame_buffer: a byte vector whose resize() does not zero what the socket will overwrite.
#include "kwire/client/detail/frame_buffer.hpp"

#include <gtest/gtest.h>

#include <array>

namespace kd = kwire::client::detail;

namespace {

TEST(FrameBuffer, DefaultConstructionLeavesTheBytesAsTheyWere) {
  kd::default_init_allocator<std::uint8_t> alloc;
  alignas(std::uint8_t) std::array<std::uint8_t, 4> memory{0xab, 0xab, 0xab, 0xab};
  for (auto& b : memory) alloc.construct(&b);
  EXPECT_EQ(memory, (std::array<std::uint8_t, 4>{0xab, 0xab, 0xab, 0xab}));
  alloc.construct(&memory[1], std::uint8_t{7});  // a value still goes in
  EXPECT_EQ(memory[1], 7);
}

TEST(FrameBuffer, BehavesAsAByteVectorOtherwise) {
  const std::array<std::uint8_t, 3> bytes{1, 2, 3};
  kd::frame_buffer b(bytes.begin(), bytes.end());
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[2], 3);
  b.resize(1000);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b[0], 1);  // kept across the reallocation
  b.assign(5, 9);
  EXPECT_EQ(b, kd::frame_buffer(5, 9));
}

}  // namespace
