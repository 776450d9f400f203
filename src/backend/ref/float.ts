// The element type of every reference kernel. The backend runs them on Float32Array (the model's
// storage type); the gradient checks run the very same code on Float64Array, so finite
// differences are not drowned by float32 rounding.
export type FloatArray = Float32Array | Float64Array;
