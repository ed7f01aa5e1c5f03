/*
 * DHT11/DHT22 pulse capture for the ESP32 (ESP-IDF 5 GPIO API).
 *
 * Sends the start pulse, then records the sensor's answer as
 * (level << 15) | microseconds entries into the caller's Uint16Array, as
 * src/dht/frame.ts describes. A tight GPIO polling loop timed with
 * esp_timer_get_time(); interrupts on this core are masked only while the
 * frame arrives (about 4.5 ms, never more than CAPTURE_LIMIT_US).
 *
 *   capture.capture(startLowUs, buffer) -> number of entries (0: no answer)
 */

#include <stdlib.h>
#include "xsmc.h"

#include "driver/gpio.h"
#include "esp_timer.h"
#include "esp_rom_sys.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#define LEVEL_HIGH 0x8000
#define MAX_DURATION_US 32767
#define EDGE_TIMEOUT_US 200		/* src/dht/frame.ts EDGE_TIMEOUT_US */
#define CAPTURE_LIMIT_US 8000	/* hard cap on the time spent with interrupts masked */
#define START_LOW_MAX_US 30000

typedef struct {
	int pin;
} DhtCaptureRecord, *DhtCapture;

static portMUX_TYPE gDhtMux = portMUX_INITIALIZER_UNLOCKED;

static void releaseLine(int pin)
{
	gpio_set_level(pin, 1);		/* open drain: released, the pull-up takes the line high */
}

void xs_dhtcapture_destructor(void *data)
{
	if (data)
		free(data);
}

void xs_dhtcapture(xsMachine *the)
{
	int pin = xsmcToInteger(xsArg(0));
	DhtCapture dht;

	if (!GPIO_IS_VALID_OUTPUT_GPIO(pin))
		xsRangeError("invalid pin");

	dht = malloc(sizeof(DhtCaptureRecord));
	if (!dht)
		xsUnknownError("no memory");
	dht->pin = pin;
	xsmcSetHostData(xsThis, dht);

	gpio_reset_pin(pin);
	gpio_set_direction(pin, GPIO_MODE_INPUT_OUTPUT_OD);
	gpio_set_pull_mode(pin, GPIO_PULLUP_ONLY);
	releaseLine(pin);
}

void xs_dhtcapture_close(xsMachine *the)
{
	DhtCapture dht = xsmcGetHostData(xsThis);
	if (!dht)
		return;
	gpio_reset_pin(dht->pin);
	xs_dhtcapture_destructor(dht);
	xsmcSetHostData(xsThis, NULL);
}

void xs_dhtcapture_capture(xsMachine *the)
{
	DhtCapture dht = xsmcGetHostData(xsThis);
	int startLowUs = xsmcToInteger(xsArg(0));
	uint16_t *out;
	xsUnsignedValue byteLength;
	int capacity, count = 0, pin, level;
	int64_t start, edge, now;

	if (!dht)
		xsUnknownError("closed");
	if ((startLowUs < 0) || (startLowUs > START_LOW_MAX_US))
		xsRangeError("invalid start pulse");
	xsmcGetBufferWritable(xsArg(1), (void **)&out, &byteLength);
	capacity = (int)(byteLength / sizeof(uint16_t));
	pin = dht->pin;

	/* start pulse: a long one (DHT11) yields to other tasks, one tick more than
	   asked since vTaskDelay may return up to a tick early; a short one (DHT22) is a busy wait */
	gpio_set_level(pin, 0);
	if (startLowUs >= 2000)
		vTaskDelay(pdMS_TO_TICKS(startLowUs / 1000) + 1);
	else
		esp_rom_delay_us(startLowUs);

	portENTER_CRITICAL(&gDhtMux);
	releaseLine(pin);
	start = edge = esp_timer_get_time();
	level = gpio_get_level(pin);
	while (count < capacity) {
		now = esp_timer_get_time();
		if (gpio_get_level(pin) != level) {
			int64_t us = now - edge;
			out[count++] = (uint16_t)((level ? LEVEL_HIGH : 0) | ((us > MAX_DURATION_US) ? MAX_DURATION_US : (int)us));
			level = !level;
			edge = now;
		}
		else if (((now - edge) >= EDGE_TIMEOUT_US) || ((now - start) >= CAPTURE_LIMIT_US)) {
			/* the unfinished pulse, duration >= EDGE_TIMEOUT_US (the decoder accepts it or its absence) */
			int64_t us = now - edge;
			if (count && (us >= EDGE_TIMEOUT_US))
				out[count++] = (uint16_t)((level ? LEVEL_HIGH : 0) | ((us > MAX_DURATION_US) ? MAX_DURATION_US : (int)us));
			break;
		}
	}
	portEXIT_CRITICAL(&gDhtMux);

	releaseLine(pin);
	xsmcSetInteger(xsResult, count);
}
