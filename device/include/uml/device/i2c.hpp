#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "uml/device/vhost_user.hpp"

namespace uml::device {

inline constexpr std::uint32_t kI2cVirtioId = 34;  // include/uapi/linux/virtio_ids.h

// A device on the bus, at one 7-bit address. Each I2C message of a transfer is one
// call; returning false is a NACK (the driver sees -EIO or -ENXIO).
class I2cClient {
 public:
  virtual ~I2cClient() = default;
  // A write message's bytes (empty: a zero-length write, as an SMBus quick command or
  // i2cdetect's probe makes).
  virtual bool write(std::span<const std::byte> data) = 0;
  // A read message: fill out.
  virtual bool read(std::span<std::byte> out) = 0;
};

// A virtio-i2c adapter (drivers/i2c/busses/i2c-virtio.c): the guest gets an I2C bus
// (i2c-N) with these clients on it; `echo <driver> <addr> > .../new_device` binds a
// client driver to one. Messages to an address without a client are NACKed.
class I2cAdapter : public VirtioDevice {
 public:
  // address: 7-bit, 0x03 to 0x77 (the others are reserved). ModelError for a reserved
  // or taken address.
  void add_client(std::uint16_t address, std::shared_ptr<I2cClient> client);

  std::uint32_t virtio_id() const override { return kI2cVirtioId; }
  std::uint64_t device_features() const override { return 1; /* ZERO_LENGTH_REQUEST */ }
  unsigned queue_count() const override { return 1; }
  void queue_kicked(Backend& backend, unsigned queue) override;

 private:
  std::uint8_t handle(const Chain& chain, std::size_t& written);

  std::map<std::uint16_t, std::shared_ptr<I2cClient>> clients_;
  bool fail_next_ = false;  // the previous request failed and asked its successor to fail
};

// A number as data files and model arguments write it: decimal, or hex after 0x; no
// sign, no octal (a leading 0 is decimal), at most 64 bits. Nothing when malformed.
std::optional<std::uint64_t> parse_number(std::string_view text);

// A client that is a register file described by a data file, so a simple sensor needs
// no code. The first byte of a write selects a register (the pointer, as LM75-style
// sensors have); further bytes are written to it and, past its width, to the registers
// that follow; a read returns the selected register's bytes, then the following
// registers'. Writes keep the read-only bits. Each write is logged to stderr.
//
// Data file: one register per line, `#` starts a comment:
//   <register> <width in bytes, 1-4> <reset value> [<writable mask>]
//   0x00       2                     0x1900        0x0000
// Numbers are decimal or 0x-hex; the mask defaults to all bits writable. A line
// `byte-order little` makes multi-byte registers LSB first (default: MSB first).
class RegisterMap : public I2cClient {
 public:
  struct Register {
    unsigned width = 1;
    std::uint32_t value = 0;
    std::uint32_t writable = 0xffffffff;
  };

  // ModelError naming the file and line for anything malformed.
  static std::shared_ptr<RegisterMap> from_file(const std::string& path);
  static std::shared_ptr<RegisterMap> from_text(const std::string& text, const std::string& name);

  bool write(std::span<const std::byte> data) override;
  bool read(std::span<std::byte> out) override;

  const std::map<std::uint8_t, Register>& registers() const { return registers_; }
  std::uint8_t pointer() const { return pointer_; }

 private:
  std::map<std::uint8_t, Register> registers_;
  bool little_endian_ = false;
  std::uint8_t pointer_ = 0;
  std::string name_;
};

}  // namespace uml::device
