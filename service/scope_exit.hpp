#pragma once
// The one form of scope guard: runs `f` when the scope ends, however it ends (return, co_return, an
// exception, a coroutine destroyed while suspended). Wiping a buffer that held a secret, untracking a
// connection, clearing an in-flight mark.
//
//     ScopeExit wipe_body([&] { wipe(body); });

#include <utility>

namespace certdeploy {

template <class F>
class ScopeExit {
  public:
    explicit ScopeExit(F f) : f_(std::move(f)) {}
    ~ScopeExit() { f_(); }
    ScopeExit(const ScopeExit&) = delete;
    ScopeExit& operator=(const ScopeExit&) = delete;

  private:
    F f_;
};

}  // namespace certdeploy
