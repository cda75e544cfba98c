// uml-i2c-regmap: a virtio-i2c adapter whose clients are register maps from data files,
// so a simple sensor needs no code:
//   uml-i2c-regmap --socket PATH --client 0x48=sensor.regs [--client ADDR=FILE ...]
#include <string>

#include "uml/device/error.hpp"
#include "uml/device/i2c.hpp"
#include "uml/device/model.hpp"

int main(int argc, char** argv) {
  using namespace uml::device;
  return run_model(argc, argv, [](const ModelCommandLine& line) {
    auto adapter = std::make_unique<I2cAdapter>();
    for (std::size_t i = 0; i < line.arguments.size(); ++i) {
      std::string spec = line.arguments[i];
      if (spec == "--client" && i + 1 < line.arguments.size())
        spec = line.arguments[++i];
      else if (spec.starts_with("--client="))
        spec = spec.substr(9);
      else
        throw ModelError("unknown argument '" + spec + "' (expected --client ADDRESS=FILE)");
      const auto equals = spec.find('=');
      // value_or, not *: g++ 12 at -O3 takes the optional's payload for uninitialized.
      const std::uint64_t address = equals == std::string::npos
                                        ? ~0ULL
                                        : parse_number(spec.substr(0, equals)).value_or(~0ULL);
      if (address > 0x7f)
        throw ModelError("--client '" + spec + "': expected ADDRESS=FILE, ADDRESS 7-bit (0x48)");
      adapter->add_client(static_cast<std::uint16_t>(address),
                          RegisterMap::from_file(spec.substr(equals + 1)));
    }
    if (line.arguments.empty())
      throw ModelError("no --client ADDRESS=FILE: the bus would be empty");
    return adapter;
  });
}
