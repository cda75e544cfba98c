# The pci example's own checks, included by tests/e2e/example.cmake (see its
# variables): the device also works in an interactive boot (uml_run's description,
# script mode) and under gdb (uml_debug's), and a failing model fails a test with
# exit 9 naming it.
test_command(pci_mmio pci_mmio)
list(GET pci_mmio 0 helper)
list(GET pci_mmio 3 mmio_boot)
get_filename_component(boot_dir "${mmio_boot}" DIRECTORY)

# uml_run's boot, commands on stdin: the card is bound and computes.
file(WRITE "${WORK_DIR}/run-input" "umlpci_test compute && echo RUN-COMPUTED\n")
execute_process(
  COMMAND "${helper}" run --boot "${boot_dir}/uml_run.boot"
  INPUT_FILE "${WORK_DIR}/run-input"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE text
  ERROR_VARIABLE text)
message("$ uml-helper run --boot uml_run.boot < run-input\n${text}")
expect(
  "uml_run's boot has the card: the compute command worked (${rc})"
  rc
  EQUAL
  0
  AND
  text
  MATCHES
  "RUN-COMPUTED")

# uml_debug's boot under gdb, batch: the model starts, the guest uses the card.
find_program(gdb gdb)
if(gdb)
  boot(
    rc
    text
    "${helper}"
    debug
    --boot
    "${boot_dir}/uml_debug.boot"
    --command
    "umlpci_test id"
    --
    -batch
    -ex
    run)
  expect(
    "uml_debug's boot under gdb reaches the card (${rc})"
    rc
    EQUAL
    0
    AND
    text
    MATCHES
    "id 0x5ca10001")
else()
  message(FATAL_ERROR "gdb not found (apt-get install gdb): the debug check cannot run")
endif()

# A model that fails: the same test with a second device whose model cannot start
# (uml-i2c-regmap without a client) is exit 9, naming the device and the model's error.
get_filename_component(helper_dir "${helper}" DIRECTORY)
find_program(regmap uml-i2c-regmap PATHS "${helper_dir}" "${helper_dir}/../device" NO_DEFAULT_PATH)
expect("uml-i2c-regmap beside the helper (${regmap})" regmap)
boot(rc text ${pci_mmio} --device "broken:34:${regmap}")
expect("a model that cannot start fails the test with exit 9 (${rc})" rc EQUAL 9)
expect("the error names the device and the model's own message" text MATCHES
       "device broken: the model .*uml-i2c-regmap failed \\(exit 1: the model's own error\\)")
expect("and the model's last output" text MATCHES "no --client ADDRESS=FILE")

# A model that ends as UML ends (it sees the socket close) must not cost UML's exit
# status: the helper once reaped UML's zombie while reaping the model's session, and
# the verdict became "the result marker disagrees". This boot (the driver's probe fails
# without MSI, the command fails) reproduced it every time.
boot(
  rc
  text
  ${pci_mmio}
  --append
  pci=nomsi
  --no-unload-check
  --command
  false)
expect(
  "a failing command with the model ending beside UML: exit 1 from UML's own status (${rc})"
  rc
  EQUAL
  1
  AND
  text
  MATCHES
  "the guest command failed with status 1")
