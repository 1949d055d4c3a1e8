#pragma once
// Gives the C library's free heap memory back to the system once a burst of work has ended.
//
// glibc keeps memory that was freed in its arenas for reuse and returns to the system only what sits at the
// top of an arena. A controller's work comes in bursts — the first probe of thousands of servers, a job of
// thousands of targets — and each burst left the process at its highest footprint for ever after (measured
// in docs/PERFORMANCE.md). malloc_trim(0) returns every free page inside the arenas (MADV_DONTNEED). It is
// not done during a burst, where those pages would be faulted in again at once, but when the heap has been
// still for a whole interval after changing by at least a threshold.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace certdeploy::memory {

// When to trim, from the free bytes in the arenas sampled once an interval. A pure rule, tested alone.
class TrimPolicy {
  public:
    explicit TrimPolicy(std::size_t threshold) : threshold_(threshold) {}
    // One sample; true: trim now.
    bool sample(std::size_t free_bytes);
    // After a trim, the free bytes it left (trimming an arena's top changes them).
    void trimmed(std::size_t free_bytes);

  private:
    std::size_t threshold_;
    std::optional<std::size_t> previous_;  // the last sample
    std::size_t at_last_trim_ = 0;
};

// The process's heap, as the trimmer sees it: replaced in tests.
struct Heap {
    std::function<std::size_t()> free_bytes;
    std::function<void()> trim;
};
Heap process_heap();  // glibc's mallinfo2() and malloc_trim(0)

// Keeps blocks of 128 KiB and more out of the arenas: each is mapped on its own and unmapped when freed.
// glibc starts there too, but raises the threshold after such a block is freed (up to 32 MiB), so that a
// 10 000-target job's large transient buffers (its targets' JSON, the events, the queue) came from the
// arenas and stayed: fixed here, the 10 000-target run peaks at 58 MiB instead of 74 (docs/PERFORMANCE.md).
// Once, early in a long-running process.
void map_large_blocks_apart();

// Samples the heap every `interval` on a thread of its own (it allocates nothing) until destroyed.
class HeapTrimmer {
  public:
    static constexpr std::size_t kThreshold = std::size_t{1} << 20;  // 1 MiB
    explicit HeapTrimmer(std::chrono::milliseconds interval = std::chrono::seconds(2), Heap heap = process_heap(),
                         std::size_t threshold = kThreshold);
    ~HeapTrimmer();
    HeapTrimmer(const HeapTrimmer&) = delete;
    HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  private:
    void run();

    std::chrono::milliseconds interval_;
    Heap heap_;
    TrimPolicy policy_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace certdeploy::memory
