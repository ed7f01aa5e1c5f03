/*
 * ESP-IDF app rollback (native, ESP32): see modOtaBoot.c and src/device/update.ts.
 */
export default class OtaBoot {
	static onTrial() @ "xs_otaboot_on_trial";
	static confirm() @ "xs_otaboot_confirm";
	static rollback() @ "xs_otaboot_rollback";
	static restart() @ "xs_otaboot_restart";
	static spareSize() @ "xs_otaboot_spare_size";
	static running() @ "xs_otaboot_running";
}
