/*
 * ESP-IDF app rollback for firmware updates (ESP32): what src/device/update.ts
 * needs beyond the SDK's embedded:update, which writes the spare partition
 * and switches the boot partition but leaves the new firmware's trial alone.
 *
 * With CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (src/device/sdkconfig), the
 * first boot of a new firmware runs it in the ESP_OTA_IMG_PENDING_VERIFY
 * state: it must mark itself valid, else at the next reset the bootloader
 * marks it aborted and boots the previous one.
 *
 *   OtaBoot.onTrial()    -> true while the running firmware is PENDING_VERIFY
 *   OtaBoot.confirm()    esp_ota_mark_app_valid_cancel_rollback()
 *   OtaBoot.rollback()   esp_ota_mark_app_invalid_rollback_and_reboot(): does not return
 *   OtaBoot.restart()    esp_restart(): does not return
 *   OtaBoot.spareSize()  -> bytes of the partition the next update is written to (0: none)
 *   OtaBoot.running()    -> label of the running app partition ("" if unknown)
 */

#include "xsmc.h"

#include "esp_err.h"
#include "esp_system.h"
#include "esp_partition.h"
#include "app_update/include/esp_ota_ops.h"

void xs_otaboot_on_trial(xsMachine *the)
{
	const esp_partition_t *running = esp_ota_get_running_partition();
	esp_ota_img_states_t state;

	if (running && (ESP_OK == esp_ota_get_state_partition(running, &state)))
		xsmcSetBoolean(xsResult, ESP_OTA_IMG_PENDING_VERIFY == state);
	else
		xsmcSetBoolean(xsResult, 0);
}

void xs_otaboot_confirm(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();

	if (ESP_OK != err)
		xsUnknownError("cannot mark the running firmware valid (%s)", esp_err_to_name(err));
}

void xs_otaboot_rollback(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_invalid_rollback_and_reboot();

	/* reached only when there is no previous firmware to return to */
	xsUnknownError("cannot return to the previous firmware (%s)", esp_err_to_name(err));
}

void xs_otaboot_restart(xsMachine *the)
{
	esp_restart();
}

void xs_otaboot_spare_size(xsMachine *the)
{
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);

	xsmcSetNumber(xsResult, next ? (xsNumberValue)next->size : 0);
}

void xs_otaboot_running(xsMachine *the)
{
	const esp_partition_t *running = esp_ota_get_running_partition();

	xsmcSetString(xsResult, running ? (char *)running->label : "");
}
