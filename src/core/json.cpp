#include "latentlab/core/json.hpp"
#include "latentlab/core/format.hpp"

#include <cmath>
#include <fmt/format.h>

namespace latentlab {

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    return format_shortest(v);
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20) {
                    out += fmt::format("\\u{:04x}", c);
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

JsonObject& JsonObject::raw(const std::string& key, std::string encoded) {
    for (auto& kv : items_)
        if (kv.first == key) {
            kv.second = std::move(encoded);
            return *this;
        }
    items_.emplace_back(key, std::move(encoded));
    return *this;
}

JsonObject& JsonObject::set(const std::string& k, double v) { return raw(k, json_number(v)); }
JsonObject& JsonObject::set(const std::string& k, long v) { return raw(k, std::to_string(v)); }
JsonObject& JsonObject::set(const std::string& k, bool v) { return raw(k, v ? "true" : "false"); }
JsonObject& JsonObject::set(const std::string& k, const std::string& v) { return raw(k, json_string(v)); }
JsonObject& JsonObject::set(const std::string& k, const std::vector<double>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + json_number(v[i]);
    return raw(k, s + "]");
}
JsonObject& JsonObject::set(const std::string& k, const JsonObject& v) { return raw(k, v.dump(0)); }

bool JsonObject::has(const std::string& key) const {
    for (const auto& kv : items_)
        if (kv.first == key) return true;
    return false;
}

std::string JsonObject::dump(int indent) const {
    const std::string pad(static_cast<std::size_t>(indent), ' ');
    const char* nl = indent > 0 ? "\n" : "";
    std::string s = "{";
    s += nl;
    for (std::size_t i = 0; i < items_.size(); ++i) {
        s += pad + json_string(items_[i].first) + ": " + items_[i].second;
        if (i + 1 < items_.size()) s += indent > 0 ? "," : ", ";
        s += nl;
    }
    return s + "}" + (indent > 0 ? "\n" : "");
}

}  // namespace latentlab
