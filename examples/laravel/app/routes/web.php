<?php
// The example's endpoints: a greeting, a health check, CPU work, a slow answer, a resource by id.

use Illuminate\Http\Request;
use Illuminate\Support\Facades\Route;

// ?ms=N clamped to [0, 10000]: one request cannot hold a worker for long.
function example_millis(Request $request, int $default): int
{
    return max(0, min(10000, (int) $request->query('ms', $default)));
}

Route::get('/', fn () => response("laravel-example\n")->header('Content-Type', 'text/plain'));

Route::get('/health', fn () => response("ok\n")->header('Content-Type', 'text/plain'));

// CPU work for ?ms=N of wall time (default 5 ms).
Route::get('/work', function (Request $request) {
    $until = hrtime(true) + example_millis($request, 5) * 1000000;
    for ($rounds = 0; hrtime(true) < $until; $rounds++) {
        hash('sha256', (string) $rounds);
    }
    return response()->json(['rounds' => $rounds]);
});

// An answer after ?ms=N (default 20 ms), as when waiting on a database.
Route::get('/wait', function (Request $request) {
    usleep(example_millis($request, 20) * 1000);
    return response()->json(['waited_ms' => example_millis($request, 20)]);
});

Route::get('/users/{id}', fn (int $id) => response()->json(['id' => $id, 'name' => "user $id"]))
    ->where('id', '[0-9]+');
