/*
 * DHT pulse capture (native, ESP32): implements PulseCapture of src/dht/sensor.ts.
 * The contract and the buffer layout are in src/dht/frame.ts.
 */
export default class DhtCapture @ "xs_dhtcapture_destructor" {
	constructor(pin) @ "xs_dhtcapture";
	capture(startLowUs, buffer) @ "xs_dhtcapture_capture";
	close() @ "xs_dhtcapture_close";
}
