// A move-only std::function with inline storage: callables up to `InlineSize` bytes (a
// lambda capturing a few pointers, an Asio handler with its work guard) are stored without
// a heap allocation, which matters when there is one per record. Larger ones go to the heap.
#pragma once

#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace kwire::client::detail {

template <class Signature, std::size_t InlineSize = 48>
class unique_function;

template <class R, class... Args, std::size_t InlineSize>
class unique_function<R(Args...), InlineSize> {
 public:
  unique_function() noexcept = default;
  unique_function(std::nullptr_t) noexcept {}

  template <class F, class D = std::decay_t<F>>
  requires(!std::is_same_v<D, unique_function> && std::is_invocable_r_v<R, D&, Args...>)
      unique_function(F&& f) {  // NOLINT(google-explicit-constructor): a callable converts
    if constexpr (fits_inline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
      ops_ = &inline_ops<D>;
    } else {
      *reinterpret_cast<D**>(storage_) = new D(std::forward<F>(f));
      ops_ = &heap_ops<D>;
    }
  }

  unique_function(unique_function&& other) noexcept { take(other); }
  unique_function& operator=(unique_function&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  unique_function(const unique_function&) = delete;
  unique_function& operator=(const unique_function&) = delete;
  ~unique_function() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  R operator()(Args... args) { return ops_->invoke(storage_, std::forward<Args>(args)...); }

  void reset() noexcept {
    if (ops_) {
      if (ops_->destroy) ops_->destroy(storage_);
      ops_ = nullptr;
    }
  }

 private:
  struct ops {
    R (*invoke)(void*, Args&&...);
    // Move-constructs into `to` and destroys `from`; null when copying the storage's bytes
    // does that (a trivially copyable callable, or the pointer to one on the heap), which
    // saves an indirect call on each of the moves a per-record callback goes through.
    void (*move)(void* from, void* to) noexcept;
    void (*destroy)(void*) noexcept;  // null for a trivially destructible callable
  };

  template <class D>
  static constexpr bool fits_inline =
      sizeof(D) <= InlineSize &&
      alignof(D) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<D>;

  template <class D>
  static constexpr ops inline_ops = {
      [](void* s, Args&&... args) -> R {
        return (*static_cast<D*>(s))(std::forward<Args>(args)...);
      },
      std::is_trivially_copyable_v<D> ? nullptr : +[](void* from, void* to) noexcept {
        ::new (to) D(std::move(*static_cast<D*>(from)));
        static_cast<D*>(from)->~D();
      },
      std::is_trivially_destructible_v<D> ? nullptr
                                          : +[](void* s) noexcept { static_cast<D*>(s)->~D(); },
  };

  template <class D>
  static constexpr ops heap_ops = {
      [](void* s, Args&&... args) -> R {
        return (**static_cast<D**>(s))(std::forward<Args>(args)...);
      },
      nullptr,
      [](void* s) noexcept { delete *static_cast<D**>(s); },
  };

  void take(unique_function& other) noexcept {
    if (other.ops_) {
      if (other.ops_->move)
        other.ops_->move(other.storage_, storage_);
      else
        std::memcpy(storage_, other.storage_, sizeof(storage_));
      ops_ = other.ops_;
      other.ops_ = nullptr;
    }
  }

  alignas(
      std::max_align_t) std::byte storage_[InlineSize < sizeof(void*) ? sizeof(void*) : InlineSize];
  const ops* ops_ = nullptr;
};

}  // namespace kwire::client::detail
