// detail::unique_function: callables stored inline or on the heap, moved by copying their
// bytes when that is a correct move (trivially copyable) and by their move constructor if not.
#include "kwire/client/detail/unique_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using kwire::client::detail::unique_function;

namespace {

// Counts its live copies, so that a move that forgets a destructor (or runs one twice) shows.
struct counted {
  explicit counted(int* live) : live(live) { ++*live; }
  counted(counted&& other) noexcept : live(other.live) { ++*live; }
  counted(const counted&) = delete;
  ~counted() { --*live; }
  int* live;
};

}  // namespace

TEST(UniqueFunction, TriviallyCopyableCallableSurvivesMoves) {
  int total = 0;
  unique_function<int(int)> f = [&total, base = 40](int x) { return total += base + x; };
  std::vector<unique_function<int(int)>> moved;
  moved.push_back(std::move(f));
  EXPECT_FALSE(f);
  unique_function<int(int)> g = std::move(moved.back());
  moved.clear();
  ASSERT_TRUE(g);
  EXPECT_EQ(g(2), 42);
  EXPECT_EQ(total, 42);
}

TEST(UniqueFunction, NonTrivialInlineCallableIsMovedAndDestroyedOnce) {
  int live = 0;
  {
    unique_function<std::string()> f = [c = counted(&live), s = std::string("kept")] { return s; };
    EXPECT_EQ(live, 1);
    std::vector<unique_function<std::string()>> v;
    for (int i = 0; i < 20; ++i) v.emplace_back(nullptr);  // reallocations move them all
    v.push_back(std::move(f));
    for (int i = 0; i < 100; ++i) v.emplace_back(nullptr);
    EXPECT_EQ(live, 1);
    EXPECT_EQ(v[20](), "kept");
    unique_function<std::string()> g;
    g = std::move(v[20]);
    EXPECT_EQ(live, 1);
    EXPECT_EQ(g(), "kept");
  }
  EXPECT_EQ(live, 0);
}

TEST(UniqueFunction, LargeCallableLivesOnTheHeapAndIsFreed) {
  int live = 0;
  std::array<char, 200> big{};
  big[199] = 'z';
  {
    unique_function<char()> f = [c = counted(&live), big] { return big[199]; };
    unique_function<char()> g = std::move(f);
    unique_function<char()> h;
    h = std::move(g);
    EXPECT_FALSE(f);
    EXPECT_FALSE(g);
    EXPECT_EQ(live, 1);
    EXPECT_EQ(h(), 'z');
    h = nullptr;
    EXPECT_EQ(live, 0);
  }
  EXPECT_EQ(live, 0);
}
