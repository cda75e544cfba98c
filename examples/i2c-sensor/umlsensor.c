// SPDX-License-Identifier: GPL-2.0
/*
 * umlsensor: an I2C temperature sensor driver (LM75-style registers) reporting through
 * hwmon. The device is simulated: the package's uml-i2c-regmap serves sensor.regs on a
 * virtio-i2c bus, so the driver runs against "hardware" described in the project.
 *
 *   register 0x00  temperature, 16 bits, MSB first, 1/256 degC (read-only)
 *   register 0x01  configuration, bit 0: shutdown
 *   register 0x03  overtemperature limit, as the temperature (9 bits: 0.5 degC steps)
 *   register 0x07  identification, 0xa1
 */
#include <linux/err.h>
#include <linux/hwmon.h>
#include <linux/i2c.h>
#include <linux/module.h>
#include <linux/version.h>

#define UMLSENSOR_REG_TEMP 0x00
#define UMLSENSOR_REG_CONFIG 0x01
#define UMLSENSOR_REG_LIMIT 0x03
#define UMLSENSOR_REG_ID 0x07
#define UMLSENSOR_ID 0xa1

/* Register value (1/256 degC) <-> hwmon's millidegrees. */
static long umlsensor_to_mdeg(s16 raw)
{
	return (long)raw * 1000 / 256;
}

static s16 umlsensor_from_mdeg(long mdeg)
{
	mdeg = clamp_val(mdeg, -128000, 127500);
	return (s16)(mdeg * 256 / 1000);
}

static int umlsensor_read(struct device *dev, enum hwmon_sensor_types type, u32 attr,
			  int channel, long *val)
{
	struct i2c_client *client = dev_get_drvdata(dev);
	int raw;

	switch (attr) {
	case hwmon_temp_input:
		raw = i2c_smbus_read_word_swapped(client, UMLSENSOR_REG_TEMP);
		break;
	case hwmon_temp_max:
		raw = i2c_smbus_read_word_swapped(client, UMLSENSOR_REG_LIMIT);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (raw < 0)
		return raw;
	*val = umlsensor_to_mdeg((s16)raw);
	return 0;
}

static int umlsensor_write(struct device *dev, enum hwmon_sensor_types type, u32 attr,
			   int channel, long val)
{
	struct i2c_client *client = dev_get_drvdata(dev);

	if (attr != hwmon_temp_max)
		return -EOPNOTSUPP;
	return i2c_smbus_write_word_swapped(client, UMLSENSOR_REG_LIMIT,
					    (u16)umlsensor_from_mdeg(val));
}

static umode_t umlsensor_is_visible(const void *data, enum hwmon_sensor_types type, u32 attr,
				    int channel)
{
	switch (attr) {
	case hwmon_temp_input:
		return 0444;
	case hwmon_temp_max:
		return 0644;
	default:
		return 0;
	}
}

static const struct hwmon_channel_info *const umlsensor_info[] = {
	HWMON_CHANNEL_INFO(temp, HWMON_T_INPUT | HWMON_T_MAX),
	NULL
};

static const struct hwmon_ops umlsensor_hwmon_ops = {
	.is_visible = umlsensor_is_visible,
	.read = umlsensor_read,
	.write = umlsensor_write,
};

static const struct hwmon_chip_info umlsensor_chip_info = {
	.ops = &umlsensor_hwmon_ops,
	.info = umlsensor_info,
};

static int umlsensor_probe(struct i2c_client *client)
{
	struct device *hwmon;
	int id;

	if (!i2c_check_functionality(client->adapter, I2C_FUNC_SMBUS_WORD_DATA))
		return -ENODEV;
	/* Something else at this address: not ours. */
	id = i2c_smbus_read_byte_data(client, UMLSENSOR_REG_ID);
	if (id < 0)
		return id;
	if (id != UMLSENSOR_ID) {
		dev_err(&client->dev, "unexpected id 0x%02x (expected 0x%02x)\n", id, UMLSENSOR_ID);
		return -ENODEV;
	}
	/* Out of shutdown, in case firmware left it there. */
	i2c_smbus_write_byte_data(client, UMLSENSOR_REG_CONFIG, 0);

	hwmon = devm_hwmon_device_register_with_info(&client->dev, "umlsensor", client,
						     &umlsensor_chip_info, NULL);
	if (IS_ERR(hwmon))
		return PTR_ERR(hwmon);
	dev_info(&client->dev, "umlsensor at 0x%02x, %s\n", client->addr, dev_name(hwmon));
	return 0;
}

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static int umlsensor_probe_old(struct i2c_client *client, const struct i2c_device_id *id)
{
	return umlsensor_probe(client);
}
#endif

static const struct i2c_device_id umlsensor_ids[] = {
	{ "umlsensor", 0 },
	{ }
};
MODULE_DEVICE_TABLE(i2c, umlsensor_ids);

static struct i2c_driver umlsensor_driver = {
	.driver = {
		.name = "umlsensor",
	},
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
	.probe = umlsensor_probe_old,
#else
	.probe = umlsensor_probe,
#endif
	.id_table = umlsensor_ids,
};
module_i2c_driver(umlsensor_driver);

MODULE_DESCRIPTION("Temperature sensor on a simulated I2C bus, through hwmon");
MODULE_LICENSE("GPL");
