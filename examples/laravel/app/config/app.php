<?php
// Production settings and the few framework services the routes use.

return [
    'providers' => [
        Illuminate\Filesystem\FilesystemServiceProvider::class,
        Illuminate\Translation\TranslationServiceProvider::class, // the error pages' texts
        Illuminate\View\ViewServiceProvider::class,
        App\Providers\RouteServiceProvider::class,
    ],
    'name' => 'laravel-example',
    'env' => env('APP_ENV', 'production'),
    'debug' => false,
    'locale' => 'en',
    'timezone' => 'UTC',
];
