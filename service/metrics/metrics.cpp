#include "service/metrics/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace certdeploy::metrics {
namespace {

// Label values escape \, " and newlines; HELP text escapes \ and newlines.
std::string escape(std::string_view text, bool quote) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (quote && c == '"') {
            out += "\\\"";
        } else {
            out += c;
        }
    }
    return out;
}

std::string number(double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    return buf;
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += escape(help, false);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
    text_ += name;
    if (!labels.empty()) {
        text_ += '{';
        bool first = true;
        for (const auto& [key, label_value] : labels) {
            text_ += first ? "" : ",";
            text_ += key;
            text_ += "=\"";
            text_ += escape(label_value, true);
            text_ += '"';
            first = false;
        }
        text_ += '}';
    }
    text_ += ' ';
    text_ += number(value);
    text_ += '\n';
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::observe(double value) {
    std::size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) {
        ++i;
    }
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::read(std::vector<std::uint64_t>& cumulative, double& sum, std::uint64_t& count) const {
    cumulative.assign(bounds_.size() + 1, 0);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        cumulative[i] = running;
    }
    sum = sum_.load(std::memory_order_relaxed);
    count = running;  // the buckets' total, so that +Inf and _count always agree
}

const std::vector<double>& latency_buckets() {
    static const std::vector<double> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,      2.5,   5,    10,    30,   60};
    return bounds;
}

template <class Metric>
Labels Family<Metric>::labels(const std::vector<std::string>& values) const {
    Labels out;
    for (std::size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
        out.emplace_back(label_names_[i], values[i]);
    }
    return out;
}

// Counters and gauges: one sample per child.
template <class Metric>
void Family<Metric>::render(Exposition& out) const {
    std::lock_guard lock(mutex_);
    out.family(name_, std::is_same_v<Metric, Counter> ? "counter" : "gauge", help_);
    for (const auto& [values, child] : children_) {
        out.sample(name_, labels(values), child->value());
    }
}
template void Family<Counter>::render(Exposition& out) const;
template void Family<Gauge>::render(Exposition& out) const;

template <>
void Family<Histogram>::render(Exposition& out) const {
    std::lock_guard lock(mutex_);
    out.family(name_, "histogram", help_);
    std::vector<std::uint64_t> cumulative;
    for (const auto& [values, child] : children_) {
        double sum = 0;
        std::uint64_t count = 0;
        child->read(cumulative, sum, count);
        Labels with_le = labels(values);
        with_le.emplace_back("le", "");
        for (std::size_t i = 0; i < cumulative.size(); ++i) {
            with_le.back().second = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
            out.sample(name_ + "_bucket", with_le, static_cast<double>(cumulative[i]));
        }
        out.sample(name_ + "_sum", labels(values), sum);
        out.sample(name_ + "_count", labels(values), static_cast<double>(count));
    }
}

namespace {

// The family called `name`, made by `make` on first use.
template <class Family, class Make>
Family& find_or_make(std::mutex& mutex, std::map<std::string, std::unique_ptr<Family>>& families,
                     const std::string& name, Make make) {
    std::lock_guard lock(mutex);
    auto& slot = families[name];
    if (!slot) {
        slot = make();
    }
    return *slot;
}

}  // namespace

Family<Counter>& Registry::counter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
    return find_or_make(mutex_, counters_, name,
                        [&] { return std::make_unique<Family<Counter>>(name, help, std::move(labels)); });
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
    return find_or_make(mutex_, gauges_, name,
                        [&] { return std::make_unique<Family<Gauge>>(name, help, std::move(labels)); });
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels, std::vector<double> bounds) {
    return find_or_make(mutex_, histograms_, name, [&] {
        return std::make_unique<Family<Histogram>>(name, help, std::move(labels), std::move(bounds));
    });
}

void Registry::add_collector(std::function<void(Exposition&)> collector) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(collector));
}

void Registry::render(Exposition& out) const {
    std::lock_guard lock(mutex_);
    for (const auto& [name, family] : counters_) {
        family->render(out);
    }
    for (const auto& [name, family] : gauges_) {
        family->render(out);
    }
    for (const auto& [name, family] : histograms_) {
        family->render(out);
    }
    for (const auto& collector : collectors_) {
        collector(out);
    }
}

Registry& process_registry() {
    static Registry registry;
    return registry;
}

void render_process_metrics(Exposition& out) {
    // /proc/self/stat: utime and stime (fields 14, 15) in clock ticks, starttime (22) in ticks since boot,
    // vsize (23) in bytes, rss (24) in pages. The command name (field 2) may hold spaces: parse after ')'.
    std::ifstream stat_file("/proc/self/stat");
    const std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close != std::string::npos) {
        std::istringstream fields(stat.substr(close + 2));
        std::vector<std::string> f{std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
        // f[0] is field 3 (state): field N is f[N - 3].
        if (f.size() > 21) {
            const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
            const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
            out.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
            out.sample("process_cpu_seconds_total", {}, (std::stod(f[11]) + std::stod(f[12])) / ticks);
            out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
            out.sample("process_resident_memory_bytes", {}, std::stod(f[21]) * page);
            out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
            out.sample("process_virtual_memory_bytes", {}, std::stod(f[20]));
            std::ifstream proc_stat("/proc/stat");
            std::string key;
            double boot = 0;
            while (proc_stat >> key) {
                if (key == "btime") {
                    proc_stat >> boot;
                    break;
                }
            }
            out.family("process_start_time_seconds", "gauge",
                       "Start time of the process since the Unix epoch, in seconds.");
            out.sample("process_start_time_seconds", {}, boot + std::stod(f[19]) / ticks);
        }
    }
    std::error_code ec;
    double fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++fds;
    }
    out.family("process_open_fds", "gauge", "Number of open file descriptors.");
    out.sample("process_open_fds", {}, fds);
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
        out.sample("process_max_fds", {},
                   limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
                                                   : static_cast<double>(limit.rlim_cur));
    }
}

}  // namespace certdeploy::metrics
