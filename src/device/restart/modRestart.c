/*
 * Restarts the ESP32 (esp_restart): the web page's settings apply this way.
 * A native function of its own rather than the SDK's $(IO)/system module,
 * whose "embedded:provider/builtin" brings every IO class along.
 */
#include "xsmc.h"
#include "esp_system.h"

void xs_device_restart(xsMachine *the)
{
	esp_restart();
}
